/**
 * One torture run: a local cluster of real server processes (peer traffic through the
 * FaultNet proxies, the test-only fsync journal on), the single-attempt workload, the
 * seeded nemesis, then heal, wait for the replicas to converge, stop them and check the
 * history against every replica's final log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../cluster/local-cluster.js';
import { viewCluster } from '../cluster/cluster-status.js';
import { connect } from '../../client/index.js';
import { groupDir } from '../../replica/group-set.js';
import { check, formatVerdict, type Verdict } from './checker.js';
import { History } from './history.js';
import { Nemesis, type FaultKind, type NemesisStats } from './nemesis.js';
import { Prng } from './prng.js';
import { FaultNet } from './proxy.js';
import { readReplicaLog } from './replica-logs.js';
import { Workload } from './workload.js';

export interface TortureOptions {
  seed: number;
  durationMs: number;
  faults: FaultKind[];
  durability?: 'fsync' | 'memory';
  replicas?: number;
  concurrency?: number;
  payloadBytes?: number;
  maxOps?: number;
  /** Keep the data directory (returned) instead of removing it. */
  keep?: boolean;
  /** Parent of the data directory (default the OS temp dir). */
  dir?: string;
  say?: (line: string) => void;
  /** Appends through the retrying client (workload.ts clientRetries); 'idempotent' fails the run on any duplicate. */
  clientRetries?: 'idempotent' | 'at-least-once';
  onServerLog?: (id: string, line: string) => void;
}

export interface TortureResult {
  seed: number;
  durability: 'fsync' | 'memory';
  faults: FaultKind[];
  seconds: number;
  ops: number;
  acknowledged: number;
  failovers: number;
  maxUnavailableMs: number;
  recovered: boolean;
  nemesis: NemesisStats;
  verdict: Verdict;
  ok: boolean;
  dir: string;
  /** The last server log lines (for failures). */
  serverLog: string[];
}

export async function runTorture(options: TortureOptions): Promise<TortureResult> {
  const say = options.say ?? (() => {});
  const durability = options.durability ?? 'fsync';
  const rng = new Prng(options.seed);
  const runId = Buffer.alloc(8);
  runId.writeUInt32LE(options.seed >>> 0, 0);
  runId.writeUInt32LE((Date.now() & 0xffffffff) >>> 0, 4);
  const history = new History(runId);
  const dir = mkdtempSync(join(options.dir ?? tmpdir(), 'raftledger-torture-'));
  const journal = join(dir, 'fsync-journal');
  const net = new FaultNet(new Prng(options.seed ^ 0x5bd1e995));
  const serverLog: string[] = [];
  const tickMs = 5;
  const electionTicks = 30;
  const cluster = new LocalCluster({
    replicas: options.replicas ?? 3,
    dir,
    durability,
    tickMs,
    heartbeatTicks: 4,
    electionTicks,
    segmentSizeBytes: 1024 * 1024,
    peerRoute: (from, to, target) => net.route(from, to, target),
    // bitrot on running replicas needs the scrub (fast: the test logs are small).
    serverArgs: ['--fsync-journal', journal, ...(options.faults.includes('bitrot') ? ['--scrub-bytes-per-sec', String(16 * 1024 * 1024)] : [])],
    onLog: (id, line) => {
      serverLog.push(`${id} | ${line}`);
      if (serverLog.length > 400) serverLog.splice(0, 200);
      options.onServerLog?.(id, line);
    },
  });
  const started = performance.now();
  const nemesis = new Nemesis({
    cluster,
    net,
    rng: new Prng(rng.int(1, 0x7fffffff)),
    kinds: options.faults,
    journal,
    electionTimeoutMs: tickMs * electionTicks,
    now: () => history.now(),
    say,
  });
  let workload: Workload | undefined;
  let recovered = false;
  try {
    say(`torture: seed ${options.seed}, ${options.replicas ?? 3} replicas, durability ${durability}, faults ${options.faults.join(',')}, ${options.durationMs / 1000} s, data in ${dir}`);
    await cluster.start();
    recovered = await nemesis.waitRecovered(20_000);
    if (!recovered) throw new Error('the cluster did not elect a leader');
    workload = new Workload({
      servers: cluster.clientAddresses,
      history,
      rng: new Prng(rng.int(1, 0x7fffffff)),
      concurrency: options.concurrency ?? 8,
      payloadBytes: options.payloadBytes ?? 64,
      durationMs: options.durationMs + 2000,
      maxOps: options.maxOps ?? 2_000_000,
      readFraction: 0.05,
      ...(options.clientRetries !== undefined ? { clientRetries: options.clientRetries } : {}),
    });
    const load = workload.run();
    const endAt = history.now() + options.durationMs;
    await nemesis.run(endAt);
    await nemesis.healAll();
    say(`[t=${(history.now() / 1000).toFixed(1)}s] faults over: healed; the workload runs on for 2 s`);
    const result = await load;
    recovered = await nemesis.waitRecovered(30_000);
    // Converged: every replica has the same last index and has committed it.
    const deadline = Date.now() + 30_000;
    const client = await connect({ servers: cluster.clientAddresses, deadlineMs: 5000 });
    const finalCommit = new Map<string, number>();
    try {
      for (;;) {
        const views = await viewCluster(client);
        for (const v of views) if (v.id !== undefined && v.commitIndex !== undefined) finalCommit.set(v.id, Math.max(finalCommit.get(v.id) ?? 0, v.commitIndex));
        const last = Math.max(...views.map((v) => v.lastIndex ?? 0));
        if (views.every((v) => v.error === undefined && v.lastIndex === last && v.commitIndex === last)) break;
        if (Date.now() > deadline) {
          recovered = false;
          say(`replicas did not converge: ${views.map((v) => `${v.id ?? v.server} commit ${v.commitIndex} last ${v.lastIndex}${v.error !== undefined ? ` (${v.error})` : ''}`).join('; ')}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await client.close();
    }
    await cluster.stop();
    const logs = await Promise.all(cluster.ids.map((id) => readReplicaLog(id, groupDir(cluster.servers.get(id)!.dir, 0), history.runId, finalCommit.get(id) ?? 0)));
    const verdict = check(history.ops, logs, { powerLosses: nemesis.stats.powerLosses, idempotent: options.clientRetries === 'idempotent' });
    say(formatVerdict(verdict));
    return {
      seed: options.seed,
      durability,
      faults: options.faults,
      seconds: (performance.now() - started) / 1000,
      ops: result.ops,
      acknowledged: result.acknowledged,
      failovers: result.leaderChanges,
      maxUnavailableMs: result.maxUnavailableMs,
      recovered,
      nemesis: nemesis.stats,
      verdict,
      ok: verdict.ok && recovered,
      dir,
      serverLog,
    };
  } finally {
    workload?.stop();
    await workload?.close();
    await nemesis.close();
    await cluster.stop();
    await net.close();
    if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSummary(r: TortureResult): string {
  const kinds = Object.entries(r.nemesis.byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `summary: seed ${r.seed}, durability ${r.durability}, ${r.seconds.toFixed(1)} s`,
    `  operations ${r.ops}, acknowledged ${r.acknowledged}, lost ${r.verdict.stats.lost}, duplicated ${r.verdict.stats.duplicated}, reordered ${r.verdict.stats.reordered}${r.verdict.stats.clientRetryDuplicates > 0 ? `, client-retry duplicates ${r.verdict.stats.clientRetryDuplicates}` : ''}${r.verdict.stats.allowedLoss > 0 ? `, lost in the memory-mode window ${r.verdict.stats.allowedLoss}` : ''}`,
    `  faults injected ${r.nemesis.faults} (${kinds || 'none'}); refused to start ${r.nemesis.refusedToStart}, repaired ${r.nemesis.repaired}`,
    `  failovers ${r.failovers}, max unavailability ${(r.maxUnavailableMs / 1000).toFixed(2)} s, recovered ${r.recovered ? 'yes' : 'NO'}`,
    `  result: ${r.ok ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}
