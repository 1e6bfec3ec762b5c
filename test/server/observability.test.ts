/**
 * Metrics, health and logs of real server processes (3 replicas on 127.0.0.1, each with
 * --metrics on a free port): /metrics agrees with status() under a bounded load and exactly
 * once the load is done; /health/ready goes 503 on a replica cut off from its peers (a
 * FaultNet proxy blackholes its links) and 200 again after the partition heals; log lines
 * are JSON with level/msg/group/term for a leader change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createConnection, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCluster, waitForLeader, viewCluster, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { FaultNet } from '../../dist/tools/check/proxy.js';
import { Prng } from '../../dist/tools/check/prng.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(address: string): Promise<Sample[]> {
  const res = await fetch(`http://${address}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const out: Sample[] = [];
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function ready(address: string): Promise<{ status: number; body: { ready: boolean; reasons: string[]; id: string } }> {
  const res = await fetch(`http://${address}/health/ready`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; reasons: string[]; id: string } };
}

function metricsOf(tc: TestCluster, id: string): string {
  return tc.cluster.servers.get(id)!.metrics!;
}

let tc: TestCluster | undefined;
let faults: FaultNet | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
  await faults?.close();
  faults = undefined;
});

describe('metrics, health and logs of a 3-process cluster', () => {
  it('/metrics agrees with status() under load and once it is done; every replica is ready; a leader change and a refusal are JSON log lines', async () => {
    tc = await startCluster({ metrics: true });
    const leader = await waitForLeader(tc.client, 20_000);
    const leaderId = leader.id!;
    const client = tc.client;
    const total = 400;
    const payloadBytes = 100;
    let sent = 0;
    const load = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (sent < total) {
          sent++;
          await client.append(Buffer.alloc(payloadBytes, 7));
        }
      }),
    );
    // While the load runs: status first, then the scrape; the scrape may only be ahead.
    for (let round = 0; round < 3; round++) {
      const views = await viewCluster(tc.client);
      const scraped = await Promise.all(views.map((v) => scrape(metricsOf(tc!, v.id!))));
      views.forEach((v, i) => {
        const s = scraped[i]!;
        expect(value(s, 'raftledger_commit_index', { group: '0' })).toBeGreaterThanOrEqual(v.commitIndex!);
        expect(value(s, 'raftledger_last_index', { group: '0' })).toBeGreaterThanOrEqual(v.lastIndex!);
        expect(value(s, 'raftledger_term', { group: '0' })).toBeGreaterThanOrEqual(v.term!);
      });
      await new Promise((r) => setTimeout(r, 30));
    }
    await load;
    const lastViews = await viewCluster(tc.client);
    const last = Math.max(...lastViews.map((v) => v.lastIndex ?? 0));
    // Settled: every replica holds and has committed the same last index.
    const settled = async (): Promise<boolean> => {
      const vs = await viewCluster(tc!.client);
      return vs.length === 3 && vs.every((v) => v.lastIndex! >= last && v.commitIndex === v.lastIndex && v.lastIndex === vs[0]!.lastIndex);
    };
    await waitUntil(settled, 'every replica to commit the load');
    // The scrape must match status exactly now.
    const views = await viewCluster(tc.client);
    let appends = 0;
    let appendBytes = 0;
    for (const v of views) {
      const s = await scrape(metricsOf(tc, v.id!));
      expect(value(s, 'raftledger_commit_index', { group: '0' })).toBe(v.commitIndex);
      expect(value(s, 'raftledger_last_index', { group: '0' })).toBe(v.lastIndex);
      expect(value(s, 'raftledger_term', { group: '0' })).toBe(v.term);
      expect(value(s, 'raftledger_role', { group: '0', role: v.role! })).toBe(1);
      expect(value(s, 'raftledger_role', { group: '0', role: v.role === 'leader' ? 'follower' : 'leader' })).toBe(0);
      expect(value(s, 'raftledger_leader_known', { group: '0' })).toBe(1);
      expect(value(s, 'raftledger_fsync_latency_seconds_count', { group: '0' })).toBeGreaterThan(0);
      expect(value(s, 'raftledger_ready')).toBe(1);
      expect(value(s, 'raftledger_client_connections')).toBeDefined();
      expect(s.some((x) => x.name === 'raftledger_event_loop_delay_seconds' && x.labels.stat === 'p99')).toBe(true);
      appends += value(s, 'raftledger_appends_total', { group: '0' })!;
      appendBytes += value(s, 'raftledger_append_bytes_total', { group: '0' })!;
      if (v.role === 'leader') {
        const commits = value(s, 'raftledger_commit_latency_seconds_count', { group: '0' })!;
        expect(commits).toBeGreaterThanOrEqual(1);
        expect(commits).toBeLessThanOrEqual(value(s, 'raftledger_appends_total', { group: '0' })!);
        expect(value(s, 'raftledger_commit_latency_seconds_bucket', { group: '0', le: '+Inf' })).toBe(commits);
        for (const [peer, f] of Object.entries(v.followers!)) {
          expect(value(s, 'raftledger_follower_match_index', { group: '0', peer })).toBe(f.match);
          expect(value(s, 'raftledger_follower_lag_entries', { group: '0', peer })).toBe(f.lag);
          expect(f.lag).toBe(0);
          expect(value(s, 'raftledger_follower_lag_bytes', { group: '0', peer })).toBe(0);
          expect(value(s, 'raftledger_follower_state', { group: '0', peer, state: 'replicate' })).toBe(1);
          expect(value(s, 'raftledger_peer_connected', { worker: '0', peer })).toBe(1);
        }
      } else {
        expect(value(s, 'raftledger_leader_commit_index', { group: '0' })).toBeLessThanOrEqual(v.commitIndex!);
        expect(value(s, 'raftledger_leader_contact_age_seconds', { group: '0' })).toBeDefined();
      }
      const r = await ready(metricsOf(tc, v.id!));
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ready: true, id: v.id });
      const live = await fetch(`http://${metricsOf(tc, v.id!)}/health/live`);
      expect(live.status).toBe(200);
    }
    // Every acknowledged append was accepted by some leader (a retry after a failover counts twice).
    expect(appends).toBeGreaterThanOrEqual(total);
    expect(appendBytes).toBeGreaterThanOrEqual(total * payloadBytes);
    // A refusal is one warn line with the remote address: garbage on a Raft port.
    const target = tc.cluster.servers.get('n0')!.raft;
    const socket = createConnection({ host: '127.0.0.1', port: Number(target.slice(target.lastIndexOf(':') + 1)) });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const localPort = socket.localPort!;
    socket.end(Buffer.alloc(64, 0xee));
    const parsed = (): Array<Record<string, unknown>> =>
      tc!.logs.map((l) => l.slice(l.indexOf(' | ') + 3)).flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    await waitUntil(() => parsed().some((r) => r.event === 'refusal' && r.remote === `127.0.0.1:${localPort}`), 'a refusal log line for the garbage connection').catch((e) => {
      throw new Error(`${(e as Error).message}\n${tc!.logs.filter((l) => l.startsWith('n0')).slice(-15).join('\n')}`);
    });
    expect(parsed().find((r) => r.event === 'refusal' && r.remote === `127.0.0.1:${localPort}`)).toMatchObject({ level: 'warn', node: 'n0' });
    // Logs: JSON lines; the leader change carries level, msg, group, term, leader.
    const records = tc.logs.map((l) => l.slice(l.indexOf(' | ') + 3)).flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    expect(records.length).toBeGreaterThan(0);
    const change = records.find((r) => r.event === 'leader' && r.leader === leaderId);
    expect(change, tc.logs.slice(-20).join('\n')).toMatchObject({ level: 'info', msg: 'leader changed', group: 0, leader: leaderId, node: expect.any(String) });
    expect(typeof change!.term).toBe('number');
    expect(typeof change!.time).toBe('string');
  });

  it('with --workers 2 --groups 4 the groups on worker threads report through the host status RPC', async () => {
    tc = await startCluster({ metrics: true, workers: 2, groups: 4 });
    const groups = [0, 1, 2, 3];
    for (const g of groups) await waitForLeader(tc.client, 20_000, undefined, g);
    for (const g of groups) for (let i = 0; i < 5; i++) await tc.client.append(Buffer.from(`g${g}-${i}`), { group: g });
    for (const id of tc.cluster.ids) await waitUntil(async () => (await ready(metricsOf(tc!, id))).status === 200, `${id} to be ready`);
    for (const g of groups) {
      const views = await viewCluster(tc.client, g);
      let appends = 0;
      for (const v of views) {
        const s = await scrape(metricsOf(tc, v.id!));
        const group = String(g);
        expect(value(s, 'raftledger_commit_index', { group })).toBeGreaterThanOrEqual(v.commitIndex!);
        expect(value(s, 'raftledger_term', { group })).toBeGreaterThanOrEqual(v.term!);
        expect(value(s, 'raftledger_fsync_latency_seconds_count', { group })).toBeGreaterThan(0);
        appends += value(s, 'raftledger_appends_total', { group })!;
      }
      expect(appends).toBeGreaterThanOrEqual(5);
    }
    const s = await scrape(metricsOf(tc, 'n0'));
    for (const worker of ['0', '1']) for (const peer of ['n1', 'n2']) expect(value(s, 'raftledger_peer_connected', { worker, peer })).toBe(1);
    expect(value(s, 'raftledger_worker_restarts_total', { worker: '1' })).toBe(0);
  });

  it('--log-level warn keeps info lines out; a bad level is a usage error', async () => {
    tc = await startCluster({ replicas: 1, serverArgs: ['--log-level', 'warn'] });
    await waitForLeader(tc.client, 20_000);
    await tc.client.append(Buffer.from('x'));
    await tc.cluster.stop();
    const levels = tc.logs.map((l) => (JSON.parse(l.slice(l.indexOf(' | ') + 3)) as { level: string }).level);
    expect(levels.filter((l) => l === 'info' || l === 'debug' || l === 'trace')).toEqual([]);
    const bad = spawnSync(process.execPath, [fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)), 'server', '--id', 'a', '--peers', 'a=127.0.0.1:1', '--dir', tc.dir, '--log-level', 'loud'], { encoding: 'utf8', timeout: 20_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/ERR_BAD_CONFIG: logLevel must be 'info' or 'trace' or 'debug' or 'warn' or 'error' or 'fatal', got "loud"/);
  });

  it('connections refused at --client-max-connections are counted by reason and logged as refusals', async () => {
    tc = await startCluster({ replicas: 1, metrics: true, serverArgs: ['--client-max-connections', '2'] });
    await waitForLeader(tc.client, 20_000);
    const server = tc.cluster.servers.get('n0')!;
    const port = Number(server.client.slice(server.client.lastIndexOf(':') + 1));
    // The test client holds one connection; open 4 more raw ones: at least 3 are refused.
    const sockets = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<Socket>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => resolve(s));
        s.on('error', () => {});
      })),
    );
    try {
      await waitUntil(async () => (value(await scrape(server.metrics!), 'raftledger_client_connections_rejected_total', { reason: 'max_connections' }) ?? 0) >= 3, 'three refusals counted');
      const s = await scrape(server.metrics!);
      expect(value(s, 'raftledger_client_connections')).toBeLessThanOrEqual(2);
      const records = tc.logs.flatMap((l) => {
        try {
          return [JSON.parse(l.slice(l.indexOf(' | ') + 3)) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      expect(records.find((r) => r.event === 'refusal' && typeof r.remote === 'string' && /^127\.0\.0\.1:\d+$/.test(r.remote))).toMatchObject({ level: 'warn', node: 'n0' });
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('/health/ready is 503 on a replica cut off from its peers (a follower, then the leader) and 200 again after the partition heals', async () => {
    const seed = Number(process.env.SEED ?? 1);
    faults = new FaultNet(new Prng(seed));
    const net = faults;
    tc = await startCluster({ metrics: true, peerRoute: (from, to, target) => net.route(from, to, target) });
    const leader = await waitForLeader(tc.client, 20_000);
    const victim = tc.cluster.ids.find((id) => id !== leader.id)!;
    const others = tc.cluster.ids.filter((id) => id !== victim);
    for (const id of tc.cluster.ids) await waitUntil(async () => (await ready(metricsOf(tc!, id))).status === 200, `${id} to be ready`);
    for (const other of others) faults.setLink(victim, other, { mode: 'blackhole' });
    await waitUntil(async () => (await ready(metricsOf(tc!, victim))).status === 503, `${victim} to be unready while isolated (seed ${seed})`);
    const cut = await ready(metricsOf(tc, victim));
    expect(cut.body.ready).toBe(false);
    expect(cut.body.reasons.length).toBeGreaterThan(0);
    expect(cut.body.reasons[0]).toMatch(/^group 0: (no known leader|no message from leader)/);
    const scraped = await scrape(metricsOf(tc, victim));
    expect(value(scraped, 'raftledger_ready')).toBe(0);
    // The leader keeps its quorum with the third replica.
    await waitUntil(async () => (await ready(metricsOf(tc!, leader.id!))).status === 200, 'the leader to stay ready');
    faults.healAll();
    await waitUntil(async () => (await ready(metricsOf(tc!, victim))).status === 200, `${victim} to be ready again after the heal (seed ${seed})`);
    expect((await ready(metricsOf(tc, victim))).body.ready).toBe(true);
    // An isolated leader steps down (check-quorum) and stops being ready; the others elect anew.
    const lead = (await waitForLeader(tc.client, 20_000)).id!;
    for (const other of tc.cluster.ids.filter((id) => id !== lead)) faults.setLink(lead, other, { mode: 'blackhole' });
    await waitUntil(async () => (await ready(metricsOf(tc!, lead))).status === 503, `the isolated leader ${lead} to be unready (seed ${seed})`);
    const rest = tc.cluster.ids.filter((id) => id !== lead);
    await waitUntil(async () => (await Promise.all(rest.map((id) => ready(metricsOf(tc!, id))))).every((r) => r.status === 200), `the other two to be ready under a new leader (seed ${seed})`);
    faults.healAll();
    for (const id of tc.cluster.ids) await waitUntil(async () => (await ready(metricsOf(tc!, id))).status === 200, `${id} to be ready after the second heal (seed ${seed})`);
  });
});
