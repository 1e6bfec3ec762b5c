import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEGMENT_SIZE_BYTES, HEADER_SIZE_BYTES } from '../storage/index.js';
import { writeBenchReport } from '../tools/cluster/bench-report.js';
import { describeCell, machineOf, measureFailover, measureThroughput, startBenchCluster, type ThroughputSpec } from '../tools/cluster/bench-run.js';
import { percentile, type LoadProgress } from '../tools/cluster/load.js';
import type { LocalClusterOptions } from '../tools/cluster/local-cluster.js';
import { certAuthority } from '../tools/cluster/test-certs.js';
import { VERSION } from '../version.js';
import { choiceOption, intOption, numberOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { CommandCleanup } from './cleanup.js';
import { applyConfigFlags } from './config-flags.js';
import { writableDir } from './dirs.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark a local cluster of server processes (the DESIGN.md workload)',
  usage: `
Usage: raftledger bench [--replicas 3] [--size 1024] [--concurrency 128] [--duration 10]
                        [--warmup 2] [--durability fsync|memory] [--idempotent true|false] [--batch-appends true|false]
                        [--json] [--dir DIR]
                        [--groups G] [--workers W] [--segment-size BYTES] [--report DIR]
                        [--tick-ms T] [--heartbeat-ticks H] [--election-ticks E] [--tls]
                        [--memory-flush-ms MS]
                        [--consumers K]
       raftledger bench --failover K [--json]

Starts a cluster of separate server processes on 127.0.0.1 (data under DIR, a temporary
directory by default, removed afterwards unless --keep), drives it from this process through the
network client with C appends of V random bytes in flight, after a warm-up, for a fixed
time, and prints ops/s, MB/s and latency percentiles measured at the client.

With --groups G the C in-flight appends are spread round-robin over groups 0..G-1
(aggregate ops/s); --workers W runs each server's groups on W worker threads (0: on the
server's main thread). Every second during the measurement the bench asks each server for
its main thread's event-loop delay (p99 over the last 1 s window, monitorEventLoopDelay
inside the server process) and reports the worst and the median of those samples.

The CPU time of every server process and of this one (the load generator), from
/proc/<pid>/stat over the measured window, is reported as microseconds per append, all
processes together, and each process's share.

--tls measures twice in one run, the same workload each time on a fresh cluster: first
plaintext, then with TLS (throwaway certificates made with openssl in the temporary
directory: mutual TLS between the replicas, TLS from the client to the client ports), and
prints both and the throughput cost of TLS.

--failover K kills the leader with SIGKILL K times under load and reports the time from
the kill to the first append that succeeds again (median and max, ms).

Options:
  --replicas N        replicas (default 3)
  --size V            payload bytes per append (default 1024)
  --concurrency C     appends in flight (default 128)
  --duration S        measured seconds (default 10)
  --warmup S          warm-up seconds, not measured (default 2)
  --durability MODE   fsync (default) or memory
  --failover K        measure failover K times instead of throughput
  --groups G          Raft groups; appends spread over all of them (default 1)
  --workers W         worker threads per server (default 0: groups on the main thread)
  --segment-size B    segment size (default: the server's 64m with 1 group, 4m with more)
  --memory-flush-ms MS with --durability memory: the servers' background flush period
                      (default: the server's 10 ms)
  --tick-ms T, --heartbeat-ticks H, --election-ticks E
                      the servers' Raft timing (default: the server's 10 ms, 5, 20);
                      with --failover, to weigh failover time against the elections a
                      throughput run counts (termChanges: terms begun during the run)
  --idempotent B      true (default): exactly-once appends (producer id and sequences);
                      false: the at-least-once client, to measure what idempotence costs
  --batch-appends B   true (default): the client sends the appends of one event-loop turn
                      as one request (connect's batchAppends); false: one request per append
  --tls               measure plaintext, then TLS, and report the cost (see above)
  --consumers K       also run K tail consumers (client.tail, one connection each; consumer
                      k tails group k mod G) from the end of the log while the writers
                      append, and report their entries/s, MB/s and, with one group, the
                      latency from the append call to delivery (p50/p99)
  --json              print the result as one JSON line (with the per-second timeline
                      and the latency histogram)
  --report DIR        also write DIR/report.json and DIR/index.html: a self-contained page
                      (no network needed) with throughput and latency over time, the
                      latency CDF and a table; bench/cluster/matrix.mjs --report puts
                      many cells and the peers' results in one page
  --dir DIR           data directory (kept)
  --keep              keep the temporary data directory (printed)

SIGINT or SIGTERM stops the servers and removes the temporary directory (exit 130/143);
the servers also exit if this process dies.
  -h, --help          show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(
      argv,
      {
        replicas: { type: 'string' },
        size: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        durability: { type: 'string' },
        failover: { type: 'string' },
        json: { type: 'boolean' },
        dir: { type: 'string' },
        keep: { type: 'boolean' },
        groups: { type: 'string' },
        workers: { type: 'string' },
        'segment-size': { type: 'string' },
        report: { type: 'string' },
        'tick-ms': { type: 'string' },
        'memory-flush-ms': { type: 'string' },
        'heartbeat-ticks': { type: 'string' },
        'election-ticks': { type: 'string' },
        tls: { type: 'boolean' },
        idempotent: { type: 'string' },
        'batch-appends': { type: 'string' },
        consumers: { type: 'string' },
      },
      false,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const replicas = intOption(values, 'replicas', 3, 1, 15);
    const sizeBytes = intOption(values, 'size', 1024, 0, 16 * 1024 * 1024);
    const concurrency = intOption(values, 'concurrency', 128, 1, 100_000);
    const durationS = numberOption(values, 'duration', 10, 0.1, 3600);
    const warmupS = numberOption(values, 'warmup', 2, 0, 600);
    const durability = choiceOption(values, 'durability', ['fsync', 'memory'] as const, 'fsync');
    const failovers = values.failover === undefined ? 0 : intOption(values, 'failover', 1, 1, 100);
    const json = values.json === true;
    const tls = values.tls === true;
    const idempotent = choiceOption(values, 'idempotent', ['true', 'false'] as const, 'true') === 'true';
    const batchAppends = choiceOption(values, 'batch-appends', ['true', 'false'] as const, 'true') === 'true';
    const groups = intOption(values, 'groups', 1, 1, 100_000);
    const consumers = intOption(values, 'consumers', 0, 0, 1024);
    if (consumers > 0 && failovers > 0) throw new UsageError('--consumers goes with a throughput run, not with --failover');
    const workers = intOption(values, 'workers', 0, 0, 256);
    const segmentSizeBytes = values['segment-size'] !== undefined ? intOption(values, 'segment-size', 0, 4096) : groups > 1 ? 4 * 1024 * 1024 : undefined;
    const effectiveSegmentBytes = segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
    if (sizeBytes + HEADER_SIZE_BYTES > effectiveSegmentBytes)
      throw new UsageError(`--size ${sizeBytes} does not fit in a segment of ${effectiveSegmentBytes} bytes (an entry takes its size + ${HEADER_SIZE_BYTES} header bytes); give a larger --segment-size`);
    if (tls && failovers > 0) throw new UsageError('--tls measures throughput; it does not go with --failover');
    const reportDir = values.report === undefined ? undefined : writableDir(String(values.report), '--report');
    if (reportDir !== undefined && failovers > 0) throw new UsageError('--report goes with a throughput run, not with --failover');
    if (values['memory-flush-ms'] !== undefined && durability !== 'memory') throw new UsageError('--memory-flush-ms goes with --durability memory');
    // The timing and flush flags are parsed and range-checked as the server's own flags
    // (CONFIG_SCHEMA), then passed on.
    // applyConfigFlags sets only the keys whose flag was given.
    const { memoryFlushIntervalMs, ...timing } = applyConfigFlags(
      {},
      { 'tick-ms': values['tick-ms'], 'heartbeat-ticks': values['heartbeat-ticks'], 'election-ticks': values['election-ticks'], 'memory-flush-ms': values['memory-flush-ms'] },
    ) as { tickMs?: number; heartbeatTicks?: number; electionTicks?: number; memoryFlushIntervalMs?: number };
    if (timing.electionTicks !== undefined && timing.heartbeatTicks !== undefined && timing.electionTicks <= timing.heartbeatTicks)
      throw new UsageError(`--election-ticks (${timing.electionTicks}) must be greater than --heartbeat-ticks (${timing.heartbeatTicks})`);
    const memoryFlushArgs = memoryFlushIntervalMs !== undefined ? ['--memory-flush-ms', String(memoryFlushIntervalMs)] : [];
    const ownDir = values.dir === undefined;
    const keep = values.keep === true;
    const givenDir = ownDir ? undefined : writableDir(String(values.dir), '--dir');
    const say = (line: string): void => {
      if (!json) process.stderr.write(`${line}\n`);
    };
    const cleanup = new CommandCleanup('bench');
    const dir = givenDir ?? mkdtempSync(join(tmpdir(), 'raftledger-bench-'));
    if (ownDir && !keep) cleanup.removeAtEnd(dir);
    const base: LocalClusterOptions = {
      replicas,
      dir,
      durability,
      groups,
      workers,
      ...timing,
      ...(segmentSizeBytes !== undefined ? { segmentSizeBytes } : {}),
      ...(memoryFlushArgs.length > 0 ? { serverArgsFor: () => memoryFlushArgs } : {}),
    };
    const spec: ThroughputSpec = { concurrency, sizeBytes, durationS, warmupS, groups, say, consumers, ...(json ? {} : { onProgress: progressLine(durationS) }) };
    const endProgress = (): void => {
      if (!json && process.stderr.isTTY) process.stderr.write('\n');
    };
    try {
      if (failovers > 0) {
        const { cluster, client } = await startBenchCluster(base, { idempotent, batchAppends }, groups);
        try {
          const samples = await measureFailover(cluster, client, failovers, sizeBytes, say);
          const sorted = Float64Array.from(samples).sort();
          const out = { system: 'raftledger', version: VERSION, replicas, durability, ...timing, failovers, failoverMs: { median: percentile(sorted, 50), max: sorted[sorted.length - 1] ?? 0 }, samplesMs: samples, machine: machineOf() };
          process.stdout.write(json ? `${JSON.stringify(out)}\n` : `failover over ${failovers} kills: median ${out.failoverMs.median.toFixed(0)} ms, max ${out.failoverMs.max.toFixed(0)} ms\n`);
        } finally {
          await client.close();
          await cluster.stop();
        }
        return 0;
      }
      if (tls) {
        say('bench: pass 1 of 2: plaintext');
        const plain = await measureThroughput({ ...base, dir: join(dir, 'plain') }, { idempotent, batchAppends }, spec);
        endProgress();
        const ca = certAuthority('bench', dir);
        const files = Object.fromEntries(Array.from({ length: replicas }, (_, i) => [`n${i}`, ca.issue(`n${i}`)]));
        say('bench: pass 2 of 2: TLS (mutual between replicas, client to client port)');
        const secure = await measureThroughput(
          { ...base, dir: join(dir, 'tls'), serverArgsFor: (id) => [...memoryFlushArgs, '--tls-cert', files[id]!.cert, '--tls-key', files[id]!.key, '--tls-ca', ca.ca] },
          { tls: { ca: ca.ca }, idempotent, batchAppends },
          spec,
        );
        endProgress();
        const costPercent = Number(((1 - secure.opsPerSec / Math.max(1, plain.opsPerSec)) * 100).toFixed(1));
        if (reportDir !== undefined) report(reportDir, [plain, { ...secure, system: 'raftledger', durability: `${durability} TLS` }], say);
        const out = { system: 'raftledger', version: VERSION, valueSize: sizeBytes, concurrency, replicas, durability, groups, workers, plaintext: plain, tls: secure, tlsCostPercent: costPercent };
        process.stdout.write(
          json
            ? `${JSON.stringify(out)}\n`
            : `plaintext: ${describeCell(plain)}\nTLS:       ${describeCell(secure)}\nTLS costs ${costPercent}% of plaintext throughput (${sizeBytes} B, C=${concurrency})\n`,
        );
        return 0;
      }
      const cell = await measureThroughput(base, { idempotent, batchAppends }, spec);
      endProgress();
      if (reportDir !== undefined) report(reportDir, [cell], say);
      process.stdout.write(json ? `${JSON.stringify(cell)}\n` : `${describeCell(cell)}\n`);
      return 0;
    } finally {
      await cleanup.close();
      if (ownDir && keep) say(`bench: data kept in ${dir}`);
    }
  },
};

function report(dir: string, cells: Parameters<typeof writeBenchReport>[1], say: (line: string) => void): void {
  const files = writeBenchReport(dir, cells);
  say(`bench: report written to ${files.html} (data: ${files.json})`);
}

/**
 * The progress of a measured run: on a TTY one line rewritten every interval (elapsed,
 * ops/s, p99 so far); otherwise a plain line every 10 s, so logs stay readable.
 */
function progressLine(durationS: number): (p: LoadProgress) => void {
  let lastPrintedMs = 0;
  return (p) => {
    const text = `${(p.elapsedMs / 1000).toFixed(0)}/${durationS} s: ${p.ops} acked, ${Math.round(p.recentOpsPerSec)} ops/s now, p99 so far ${p.p99SoFarMs.toFixed(2)} ms, ${p.errors} errors`;
    if (process.stderr.isTTY) process.stderr.write(`\r  ${text}   `);
    else if (p.elapsedMs - lastPrintedMs >= 10_000) {
      lastPrintedMs = p.elapsedMs;
      process.stderr.write(`  ${text}\n`);
    }
  };
}
