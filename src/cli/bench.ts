import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Client } from '../client/index.js';
import { LocalCluster } from '../tools/cluster/local-cluster.js';
import { runLoad, percentile } from '../tools/cluster/load.js';
import { waitForLeader } from '../tools/cluster/cluster-status.js';
import { VERSION } from '../version.js';
import { choiceOption, intOption, numberOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { CommandCleanup } from './cleanup.js';
import { writableDir } from './dirs.js';


export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark a local cluster of server processes (the DESIGN.md workload)',
  usage: `
Usage: raftledger bench [--replicas 3] [--size 1024] [--concurrency 128] [--duration 10]
                        [--warmup 2] [--durability fsync|memory] [--idempotent true|false] [--json] [--dir DIR]
                        [--groups G] [--workers W] [--segment-size BYTES]
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

--failover K kills the leader with SIGKILL K times under load and reports the time from
the kill to the first append that succeeds again (median and max, ms).

Options:
  --replicas N        replicas (default 3)
  --size V            payload bytes per append (default 1024)
  --concurrency C     appends in flight (default 128)
  --duration S        measured seconds (default 10)
  --warmup S          warm-up seconds, not measured (default 2)
  --durability MODE   fsync (default) or memory
  --idempotent B      true (default): exactly-once appends (producer id and sequences);
                      false: the client's at-least-once appends, to compare the cost
  --failover K        measure failover K times instead of throughput
  --groups G          Raft groups; appends spread over all of them (default 1)
  --workers W         worker threads per server (default 0: groups on the main thread)
  --segment-size B    segment size (default: the server's 64m with 1 group, 4m with more)
  --json              print the result as one JSON line
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
        idempotent: { type: 'string' },
        failover: { type: 'string' },
        json: { type: 'boolean' },
        dir: { type: 'string' },
        keep: { type: 'boolean' },
        groups: { type: 'string' },
        workers: { type: 'string' },
        'segment-size': { type: 'string' },
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
    const idempotent = choiceOption(values, 'idempotent', ['true', 'false'] as const, 'true') === 'true';
    const failovers = values.failover === undefined ? 0 : intOption(values, 'failover', 1, 1, 100);
    const json = values.json === true;
    const groups = intOption(values, 'groups', 1, 1, 100_000);
    const workers = intOption(values, 'workers', 0, 0, 256);
    const segmentSizeBytes = values['segment-size'] !== undefined ? intOption(values, 'segment-size', 0, 4096) : groups > 1 ? 4 * 1024 * 1024 : undefined;
    const ownDir = values.dir === undefined;
    const keep = values.keep === true;
    const givenDir = ownDir ? undefined : writableDir(String(values.dir), '--dir');
    const say = (line: string): void => {
      if (!json) process.stderr.write(`${line}\n`);
    };
    const cleanup = new CommandCleanup('bench');
    const dir = givenDir ?? mkdtempSync(join(tmpdir(), 'raftledger-bench-'));
    if (ownDir && !keep) cleanup.removeAtEnd(dir);
    const cluster = new LocalCluster({ replicas, dir, durability, groups, workers, ...(segmentSizeBytes !== undefined ? { segmentSizeBytes } : {}) });
    let client;
    try {
      say(`bench: starting ${replicas} replicas (${durability}, ${groups} group(s), ${workers} worker(s)) in ${dir}`);
      await cluster.start();
      say(`bench: servers up: ${[...cluster.servers.values()].map((s) => `${s.id} pid ${s.pid}`).join(', ')}`);
      client = await connect({ servers: cluster.clientAddresses, idempotent });
      for (let g = 0; g < groups; g++) await waitForLeader(client, 30_000, undefined, g);
      const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version };
      if (failovers > 0) {
        const result = await measureFailover(cluster, client, failovers, sizeBytes, say);
        const sorted = Float64Array.from(result).sort();
        const out = { system: 'raftledger', version: VERSION, replicas, durability, failovers, failoverMs: { median: percentile(sorted, 50), max: sorted[sorted.length - 1] ?? 0 }, samplesMs: result, machine };
        process.stdout.write(json ? `${JSON.stringify(out)}\n` : `failover over ${failovers} kills: median ${out.failoverMs.median.toFixed(0)} ms, max ${out.failoverMs.max.toFixed(0)} ms\n`);
        return 0;
      }
      if (warmupS > 0) {
        say(`bench: warm-up ${warmupS} s`);
        await runLoad({ client: spread(client, groups), concurrency, sizeBytes, durationMs: warmupS * 1000 });
      }
      say(`bench: measuring ${durationS} s, ${sizeBytes} B payloads, ${concurrency} in flight, idempotent ${idempotent}`);
      const sampler = sampleLoopDelay(client);
      const result = await runLoad({
        client: spread(client, groups),
        concurrency,
        sizeBytes,
        durationMs: durationS * 1000,
        onProgress: json
          ? undefined
          : (p) => process.stderr.write(`\r  ${(p.elapsedMs / 1000).toFixed(0)} s: ${p.ops} acked, ${Math.round(p.recentOpsPerSec)} ops/s, p99 ${p.recentP99Ms.toFixed(2)} ms, ${p.errors} errors   `),
      });
      const delays = await sampler.stop();
      if (!json) process.stderr.write('\n');
      const lat = result.latenciesMs;
      const out = {
        system: 'raftledger',
        version: VERSION,
        valueSize: sizeBytes,
        concurrency,
        replicas,
        durability,
        idempotent,
        groups,
        workers,
        ops: result.ops,
        errors: result.errors,
        seconds: Number(result.seconds.toFixed(3)),
        opsPerSec: Math.round(result.ops / result.seconds),
        MBps: Number(((result.ops * sizeBytes) / result.seconds / 1e6).toFixed(2)),
        latMs: {
          p50: Number(percentile(lat, 50).toFixed(3)),
          p99: Number(percentile(lat, 99).toFixed(3)),
          p999: Number(percentile(lat, 99.9).toFixed(3)),
          max: Number((lat[lat.length - 1] ?? 0).toFixed(3)),
        },
        serverMainLoopDelayP99Ms: delays,
        machine,
      };
      if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else
        process.stdout.write(
          `raftledger ${durability}, ${replicas} replicas, G=${groups}, W=${workers}, ${sizeBytes} B, C=${concurrency}: ${out.opsPerSec} ops/s, ${out.MBps} MB/s, p50 ${out.latMs.p50} ms, p99 ${out.latMs.p99} ms, p999 ${out.latMs.p999} ms, max ${out.latMs.max} ms, ${out.errors} errors; server main-thread loop delay p99 (1 s windows): worst ${delays.worst} ms, median ${delays.median} ms\n`,
        );
      return 0;
    } finally {
      await client?.close();
      await cleanup.close();
      if (ownDir && keep) say(`bench: data kept in ${dir}`);
    }
  },
};

async function measureFailover(
  cluster: LocalCluster,
  client: Awaited<ReturnType<typeof connect>>,
  kills: number,
  sizeBytes: number,
  say: (line: string) => void,
): Promise<number[]> {
  const samples: number[] = [];
  for (let k = 0; k < kills; k++) {
    const leader = await waitForLeader(client, 15_000);
    const victim = leader.id!;
    // Keep a light load running so "the first append that succeeds again" is observed.
    let killedAt = 0;
    let recoveredAt = 0;
    const controller = new AbortController();
    const load = runLoad({
      client,
      concurrency: 8,
      sizeBytes,
      durationMs: 30_000,
      signal: controller.signal,
      onAck: (_ack, _payload, invokedAt, ackedAt) => {
        if (killedAt > 0 && invokedAt >= killedAt && recoveredAt === 0) {
          recoveredAt = ackedAt;
          controller.abort();
        }
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    killedAt = performance.now();
    await cluster.kill(victim, 'SIGKILL');
    await load;
    if (recoveredAt === 0) throw new Error(`no append succeeded within 30 s after killing ${victim}`);
    const ms = recoveredAt - killedAt;
    samples.push(ms);
    say(`failover ${k + 1}/${kills}: killed leader ${victim}, appends succeed again after ${ms.toFixed(0)} ms`);
    await cluster.startServer(victim);
  }
  return samples;
}

/** A client whose append() goes round-robin over groups 0..groups-1 (everything else as is). */
function spread(client: Client, groups: number): Client {
  if (groups <= 1) return client;
  let next = 0;
  return {
    append: (payload: Uint8Array) => client.append(payload, { group: next++ % groups }),
  } as unknown as Client;
}

/** Poll every server's main-thread event-loop delay (p99 of its last 1 s window) once a second. */
function sampleLoopDelay(client: Client): { stop(): Promise<{ worst: number; median: number; samples: number; perServerWorst: Record<string, number> }> } {
  const samples: number[] = [];
  const perServer: Record<string, number> = {};
  let polls = 0;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polls++;
    const skip = polls === 1; // the first window may predate the load
    running = client
      .statusAll({ group: 0 })
      .then((all) => {
        if (skip) return;
        for (const r of all) {
          const d = (r.status?.host as { eventLoopDelay?: { p99Ms?: number } } | undefined)?.eventLoopDelay?.p99Ms;
          if (typeof d !== 'number') continue;
          samples.push(d);
          perServer[r.server] = Math.max(perServer[r.server] ?? 0, d);
        }
      })
      .catch(() => {});
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      const sorted = Float64Array.from(samples).sort();
      return { worst: sorted[sorted.length - 1] ?? 0, median: percentile(sorted, 50), samples: samples.length, perServerWorst: perServer };
    },
  };
}
