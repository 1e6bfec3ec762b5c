/**
 * One benchmark cell against a fresh local cluster of server processes (`raftledger bench`):
 * start the cluster, wait for every group's leader, warm up, measure a closed-loop append
 * load, stop the cluster. The result is the cell as `bench --json` prints it and the report
 * charts it. Also the failover measurement (SIGKILL of the leader to the next acknowledged
 * append).
 */
import { cpus } from 'node:os';
import { connect, type Client, type ConnectOptions } from '../../client/index.js';
import { VERSION } from '../../version.js';
import { viewCluster, waitForLeader } from './cluster-status.js';
import type { HistogramJson } from './latency-histogram.js';
import { percentile, runLoad, type LoadProgress, type TimelinePoint } from './load.js';
import { LocalCluster, serverNodeArgs, type LocalClusterOptions } from './local-cluster.js';
import { measureCpu, type CpuReport } from './proc-cpu.js';
import { BenchConsumers, describeConsumers, type ConsumerReport } from './bench-consumers.js';

export interface ThroughputSpec {
  concurrency: number;
  sizeBytes: number;
  durationS: number;
  warmupS: number;
  groups: number;
  say: (line: string) => void;
  onProgress?: (p: LoadProgress) => void;
  /** Tail consumers alongside the writers (bench-consumers.ts); 0 or absent: none. */
  consumers?: number;
}

/** One figure of the servers' 1 s event-loop-delay windows over the measured run. */
export interface LoopDelaySummary {
  worst: number;
  median: number;
  samples: number;
  perServerWorst: Record<string, number>;
}

/** One poll of one server's last complete 1 s loop-delay window. */
export interface LoopDelayPoll {
  server: string;
  p99Ms: number;
  maxMs: number;
}

/** The polls as two summaries: each window's p99, and each window's longest stall (max). */
export function summarizeLoopDelays(polls: readonly LoopDelayPoll[]): { p99: LoopDelaySummary; max: LoopDelaySummary } {
  const summary = (pick: (p: LoopDelayPoll) => number): LoopDelaySummary => {
    const perServerWorst: Record<string, number> = {};
    for (const p of polls) perServerWorst[p.server] = Math.max(perServerWorst[p.server] ?? 0, pick(p));
    const sorted = Float64Array.from(polls, pick).sort();
    return { worst: sorted[sorted.length - 1] ?? 0, median: percentile(sorted, 50), samples: sorted.length, perServerWorst };
  };
  return { p99: summary((p) => p.p99Ms), max: summary((p) => p.maxMs) };
}

export interface ThroughputCell {
  system: 'raftledger';
  version: string;
  valueSize: number;
  concurrency: number;
  replicas: number;
  durability: string;
  groups: number;
  workers: number;
  /** Whether the client made exactly-once appends (producer id and sequences). */
  idempotent: boolean;
  /** Whether the client sent the appends of one turn as one request (connect's batchAppends). */
  batchAppends: boolean;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  /** Terms begun during the measured window, all groups: elections without a fault are spurious. */
  termChanges: number;
  ops: number;
  errors: number;
  seconds: number;
  opsPerSec: number;
  MBps: number;
  latMs: { p50: number; p99: number; p999: number; max: number };
  serverMainLoopDelayP99Ms: LoopDelaySummary;
  /**
   * The longest main-thread stall of each polled 1 s window (the windows' max; polls and
   * windows both run once a second, so a window that drift skips is not counted). A stall
   * of the leader alone longer than the election timeout can start a spurious election.
   */
  serverMainLoopDelayMaxMs: LoopDelaySummary;
  cpu: CpuReport;
  /** Where it ran, with the node flags of the load generator (this process) and of the servers. */
  machine: { cpus: number; model: string; node: string; loadGeneratorNodeFlags: string[]; serverNodeFlags: string[] };
  timeline: TimelinePoint[];
  latencyHistogram: HistogramJson;
  /** With --consumers: what the tail consumers read during the measured window. */
  consumers?: ConsumerReport;
}

export function machineOf(): ThroughputCell['machine'] {
  return { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, loadGeneratorNodeFlags: [...process.execArgv], serverNodeFlags: serverNodeArgs() };
}

/** Start the cluster and a client, wait for every group's leader; stops the cluster if that fails. */
export async function startBenchCluster(clusterOptions: LocalClusterOptions, clientOptions: Partial<ConnectOptions>, groups: number): Promise<{ cluster: LocalCluster; client: Client }> {
  const cluster = new LocalCluster(clusterOptions);
  let client: Client | undefined;
  try {
    await cluster.start();
    client = await connect({ servers: cluster.clientAddresses, ...clientOptions });
    for (let g = 0; g < groups; g++) await waitForLeader(client, 30_000, undefined, g);
    return { cluster, client };
  } catch (error) {
    await client?.close();
    await cluster.stop();
    throw error;
  }
}

/** One throughput cell on a fresh cluster, stopped before this returns. */
export async function measureThroughput(clusterOptions: LocalClusterOptions, clientOptions: Partial<ConnectOptions>, spec: ThroughputSpec): Promise<ThroughputCell> {
  const { concurrency, sizeBytes, groups, say } = spec;
  say(`bench: starting ${clusterOptions.replicas} replicas (${clusterOptions.durability ?? 'fsync'}, ${groups} group(s), ${clusterOptions.workers ?? 0} worker(s)) in ${clusterOptions.dir}`);
  const { cluster, client } = await startBenchCluster(clusterOptions, clientOptions, groups);
  try {
    say(`bench: servers up: ${[...cluster.servers.values()].map((s) => `${s.id} pid ${s.pid}`).join(', ')}`);
    const appender = spread(client, groups);
    const consumers = (spec.consumers ?? 0) > 0 ? await BenchConsumers.start(cluster.clientAddresses, spec.consumers!, groups, clientOptions) : undefined;
    if (consumers !== undefined) say(`bench: ${spec.consumers} tail consumer(s) started`);
    if (spec.warmupS > 0) {
      say(`bench: warm-up ${spec.warmupS} s`);
      await runLoad({ client: appender, concurrency, sizeBytes, durationMs: spec.warmupS * 1000 });
    }
    say(`bench: measuring ${spec.durationS} s, ${sizeBytes} B payloads, ${concurrency} in flight, idempotent ${clientOptions.idempotent !== false}`);
    const termsBefore = await highestTerms(client, groups);
    const sampler = sampleLoopDelay(client);
    const cpuMeter = measureCpu({
      ...Object.fromEntries([...cluster.servers.values()].filter((s) => s.pid !== undefined).map((s) => [s.id, s.pid!])),
      client: process.pid,
    });
    consumers?.measure();
    const result = await runLoad({
      client: appender,
      concurrency,
      sizeBytes,
      durationMs: spec.durationS * 1000,
      ...(spec.onProgress !== undefined ? { onProgress: spec.onProgress } : {}),
      ...(consumers !== undefined ? { onAck: consumers.onAck } : {}),
    });
    const consumed = await consumers?.stop();
    const cpu = cpuMeter.stop(result.ops, result.seconds);
    const termsAfter = await highestTerms(client, groups);
    const delays = await sampler.stop();
    const lat = result.latenciesMs;
    return {
      system: 'raftledger',
      version: VERSION,
      valueSize: sizeBytes,
      concurrency,
      replicas: clusterOptions.replicas,
      durability: clusterOptions.durability ?? 'fsync',
      groups,
      workers: clusterOptions.workers ?? 0,
      idempotent: clientOptions.idempotent !== false,
      batchAppends: clientOptions.batchAppends !== false,
      ...(clusterOptions.tickMs !== undefined ? { tickMs: clusterOptions.tickMs } : {}),
      ...(clusterOptions.heartbeatTicks !== undefined ? { heartbeatTicks: clusterOptions.heartbeatTicks } : {}),
      ...(clusterOptions.electionTicks !== undefined ? { electionTicks: clusterOptions.electionTicks } : {}),
      termChanges: termsAfter.reduce((n, t, g) => n + Math.max(0, t - termsBefore[g]!), 0),
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
      serverMainLoopDelayP99Ms: delays.p99,
      serverMainLoopDelayMaxMs: delays.max,
      cpu,
      machine: machineOf(),
      timeline: result.timeline,
      latencyHistogram: result.histogram.toJSON(),
      ...(consumed !== undefined ? { consumers: consumed } : {}),
    };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

/** The cell as one line of text. */
export function describeCell(c: ThroughputCell): string {
  const d = c.serverMainLoopDelayP99Ms;
  const shares = Object.entries(c.cpu.shares)
    .map(([n, sh]) => `${n} ${Math.round(sh * 100)}%`)
    .join(', ');
  return `raftledger ${c.durability}, ${c.replicas} replicas, G=${c.groups}, W=${c.workers}, ${c.valueSize} B, C=${c.concurrency}${c.idempotent ? '' : ', at-least-once'}${c.batchAppends ? '' : ', one request per append'}: ${c.opsPerSec} ops/s, ${c.MBps} MB/s, p50 ${c.latMs.p50} ms, p99 ${c.latMs.p99} ms, p999 ${c.latMs.p999} ms, max ${c.latMs.max} ms, ${c.errors} errors, ${c.termChanges} term change(s); server main-thread loop delay p99 (1 s windows): worst ${d.worst} ms, median ${d.median} ms; longest stall ${c.serverMainLoopDelayMaxMs.worst} ms; CPU ${c.cpu.usPerAppend} us/append on ${c.cpu.cores} cores (${shares}; kernel ${Math.round(c.cpu.systemShare * 100)}%)${c.consumers !== undefined ? `; ${describeConsumers(c.consumers)}` : ''}`;
}

/** SIGKILL the leader `kills` times under a light load; the ms from each kill to the next acknowledged append. */
export async function measureFailover(cluster: LocalCluster, client: Client, kills: number, sizeBytes: number, say: (line: string) => void): Promise<number[]> {
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

/** The highest term any replica reports, per group (0 for a group nobody answered for). */
async function highestTerms(client: Client, groups: number): Promise<number[]> {
  const terms: number[] = [];
  for (let g = 0; g < groups; g++) {
    const views = await viewCluster(client, g).catch(() => []);
    terms.push(Math.max(0, ...views.map((v) => v.term ?? 0)));
  }
  return terms;
}

/** A client whose append() goes round-robin over groups 0..groups-1 (everything else as is). */
function spread(client: Client, groups: number): Client {
  if (groups <= 1) return client;
  let next = 0;
  return {
    append: (payload: Uint8Array) => client.append(payload, { group: next++ % groups }),
  } as unknown as Client;
}

/** Poll every server's main-thread event-loop delay (p99 and max of its last 1 s window) once a second. */
function sampleLoopDelay(client: Client): { stop(): Promise<{ p99: LoopDelaySummary; max: LoopDelaySummary }> } {
  const polls: LoopDelayPoll[] = [];
  let count = 0;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    count++;
    const skip = count === 1; // the first window may predate the load
    running = client
      .statusAll({ group: 0 })
      .then((all) => {
        if (skip) return;
        for (const r of all) {
          const d = (r.status?.host as { eventLoopDelay?: { p99Ms?: unknown; maxMs?: unknown } } | undefined)?.eventLoopDelay;
          if (typeof d?.p99Ms !== 'number' || typeof d.maxMs !== 'number') continue;
          polls.push({ server: r.server, p99Ms: d.p99Ms, maxMs: d.maxMs });
        }
      })
      .catch(() => {});
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      return summarizeLoopDelays(polls);
    },
  };
}
