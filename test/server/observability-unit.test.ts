/**
 * Logger line parsing, readiness verdicts and the metrics text, without processes: the
 * free-text lines of the layers below become records with fields; readiness() follows the
 * rules in src/server/health.ts; ServerMetrics renders a host snapshot in Prometheus text
 * format with shipped histograms and counters.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, formatPretty, parseLogLine } from '../../src/server/logger.js';
import { readiness } from '../../src/server/health.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { FixedHistogram, LedgerStats, COMMIT_LATENCY_BUCKETS_SECONDS } from '../../src/replica/ledger-stats.js';
import type { HostStatus } from '../../src/host/ledger-host.js';
import { validateConfig } from '../../src/server/config.js';
import { SegmentedLog } from '../../src/storage/index.js';
import { useTempDirs } from '../support/tmp.js';
import type { GroupStatus } from '../../src/host/protocol.js';

function group(overrides: Partial<GroupStatus> & { group: number }): GroupStatus {
  const stats = new LedgerStats().snapshot(10);
  return {
    id: 'n0',
    role: 'follower',
    term: 3,
    leader: 'n1',
    firstIndex: 1,
    firstPos: 0,
    diskBytes: 0,
    logBytes: 0,
    freeBytes: 1e12,
    noSpace: false,
    lastIndex: 100,
    commitIndex: 100,
    durableIndex: 100,
    durability: 'fsync',
    pendingAppends: 0,
    followers: {},
    worker: 0,
    threadId: 1,
    ...overrides,
    stats: { ...stats, leaderCommit: 100, msSinceLeaderContact: 20, ...overrides.stats },
  };
}

const host = (groups: GroupStatus[]): HostStatus => ({ threadId: 1, workers: [{ index: 0, state: 'ready', threadId: 1, groups: groups.map((g) => g.group), restarts: 2 }], groups });

describe('parseLogLine', () => {
  it('a leader change line from a Ledger becomes an info record with node, group, leader, term', () => {
    const r = parseLogLine('[n0] leader changed group=3 leader=n2 term=7 role=follower');
    expect(r.level).toBe('info');
    expect(r.msg).toBe('leader changed');
    expect(r.fields).toMatchObject({ node: 'n0', group: 3, leader: 'n2', term: 7, role: 'follower', event: 'leader' });
  });

  it('an election, a refusal, a repair and a failure get their event and level', () => {
    expect(parseLogLine('[n1] role changed group=0 role=candidate term=4 leader=-')).toMatchObject({ level: 'info', fields: { event: 'election', term: 4 } });
    const refusal = parseLogLine('[n0] refusing client 127.0.0.1:5123: 64 connections open (maxConnections 64)');
    expect(refusal).toMatchObject({ level: 'warn', fields: { event: 'refusal', node: 'n0', remote: '127.0.0.1:5123' } });
    expect(parseLogLine('[n0] worker 0 transport: [transport n0] closing inbound connection with unidentified peer (127.0.0.1:47304): protocol error: frame length 4008636142 exceeds the cap of 2048 bytes')).toMatchObject({
      level: 'warn',
      fields: { event: 'refusal', node: 'n0', worker: 0, remote: '127.0.0.1:47304' },
    });
    expect(parseLogLine('[n0] group 2: repair: bad CRC (x at offset 9); truncating the log from index 5')).toMatchObject({ level: 'warn', fields: { event: 'repair', group: 2 } });
    expect(parseLogLine('[n0] worker 1 (thread 4) died: boom; groups 1,3; restarting')).toMatchObject({ level: 'error', fields: { event: 'failure', worker: 1 } });
    expect(parseLogLine('[n0] truncating conflicting log suffix group=0 from=11 last=20 term=5')).toMatchObject({ level: 'warn', fields: { event: 'truncation', from: 11, last: 20 } });
  });

  it('the logger writes JSON lines with level labels, or `time LEVEL msg k=v` when pretty', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', pretty: false, write: (l) => lines.push(l) });
    logger.info({ group: 1, term: 2 }, 'hello');
    logger.trace('not shown');
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'info', msg: 'hello', group: 1, term: 2 });
    expect(typeof rec.time).toBe('string');
    expect(formatPretty(lines[0]!)).toMatch(/^\S+ INFO  hello group=1 term=2\n$/);
  });
});

describe('readiness', () => {
  const options = { maxLagEntries: 10, leaderContactMaxMs: 1000 };

  it('a leader, and a follower that hears from its leader within the lag, are ready', () => {
    const v = readiness(host([group({ group: 0, role: 'leader', leader: 'n0' }), group({ group: 1, stats: { leaderCommit: 110 } as never })]), [0, 1], options);
    expect(v.ready).toBe(true);
    expect(v.groups.map((g) => g.lagEntries)).toEqual([0, 10]);
  });

  it('no leader, silence from the leader, too much lag, or a missing group make it unready, with reasons', () => {
    const v = readiness(
      host([group({ group: 0, leader: '' }), group({ group: 1, stats: { msSinceLeaderContact: 1500 } as never }), group({ group: 2, stats: { leaderCommit: 111 } as never })]),
      [0, 1, 2, 3],
      options,
    );
    expect(v.ready).toBe(false);
    expect(v.reasons).toEqual([
      'group 0: no known leader in term 3',
      'group 1: no message from leader n1 for 1500 ms (limit 1000 ms)',
      "group 2: 11 entries behind the leader's commit index 111 (limit 10)",
      'group 3: no status (its worker is not serving)',
    ]);
  });
});

describe('ServerMetrics', () => {
  it('renders group gauges, counters, shipped histograms, follower lag and the rejection hook', async () => {
    const h = new FixedHistogram(COMMIT_LATENCY_BUCKETS_SECONDS);
    h.observe(0.0004);
    h.observe(0.003);
    h.observe(20);
    const leader = group({
      group: 5,
      role: 'leader',
      leader: 'n0',
      followers: { n1: { match: 90, next: 91, state: 'replicate', lag: 10, lagBytes: 640, active: true } },
      stats: { appends: 42, appendBytes: 4200, leaderChanges: 2, commitLatency: h.snapshot() } as never,
      transport: { dropped: 3, refused: 1, peers: { n1: { connected: true, dropped: 3, queuedBytes: 7 } } },
    });
    const metrics = new ServerMetrics(
      {
        hostStatus: async () => host([leader]),
        clientPort: () => ({ connections: 4, refused: 2 }),
        loopDelay: () => ({ windowMs: 1000, p99Ms: 2, maxMs: 5, p99MsSinceStart: 2 }),
        ready: () => true,
      },
      { defaultMetrics: false },
    );
    metrics.connectionRejected('tls');
    metrics.connectionRejected('tls');
    const text = await metrics.render();
    const lines = new Set(text.split('\n'));
    for (const line of [
      'raftledger_role{group="5",role="leader"} 1',
      'raftledger_role{group="5",role="follower"} 0',
      'raftledger_term{group="5"} 3',
      'raftledger_commit_index{group="5"} 100',
      'raftledger_appends_total{group="5"} 42',
      'raftledger_append_bytes_total{group="5"} 4200',
      'raftledger_leader_changes_total{group="5"} 2',
      'raftledger_commit_latency_seconds_bucket{group="5",le="0.0005"} 1',
      'raftledger_commit_latency_seconds_bucket{group="5",le="0.005"} 2',
      'raftledger_commit_latency_seconds_bucket{group="5",le="10"} 2',
      'raftledger_commit_latency_seconds_bucket{group="5",le="+Inf"} 3',
      'raftledger_commit_latency_seconds_count{group="5"} 3',
      'raftledger_follower_match_index{group="5",peer="n1"} 90',
      'raftledger_follower_lag_entries{group="5",peer="n1"} 10',
      'raftledger_follower_lag_bytes{group="5",peer="n1"} 640',
      'raftledger_follower_state{group="5",peer="n1",state="replicate"} 1',
      'raftledger_client_connections 4',
      'raftledger_client_connections_rejected_total{reason="tls"} 2',
      'raftledger_client_connections_rejected_total{reason="max_connections"} 2',
      'raftledger_peer_frames_dropped_total{worker="0",peer="n1"} 3',
      'raftledger_worker_restarts_total{worker="0"} 2',
      'raftledger_event_loop_delay_seconds{stat="max"} 0.005',
      'raftledger_ready 1',
      '# TYPE raftledger_commit_latency_seconds histogram',
      '# TYPE raftledger_appends_total counter',
    ]) {
      expect(lines.has(line), `${line}\n--- in ---\n${text}`).toBe(true);
    }
  });
});

describe('config keys', () => {
  const base = { id: 'a', dir: '/tmp/x', peers: { a: '127.0.0.1:7001' } };
  it('metricsAddress, readyMaxLagEntries and logLevel are validated', () => {
    expect(validateConfig({ ...base, metricsAddress: '127.0.0.1:9100', readyMaxLagEntries: 5, logLevel: 'warn' })).toMatchObject({ metricsAddress: '127.0.0.1:9100', readyMaxLagEntries: 5, logLevel: 'warn' });
    expect(validateConfig(base).metricsAddress).toBeUndefined();
    for (const bad of [{ metricsAddress: 'nope' }, { metricsAddress: 9100 }, { readyMaxLagEntries: -1 }, { logLevel: 'loud' }]) {
      expect(() => validateConfig({ ...base, ...bad })).toThrow(expect.objectContaining({ code: 'ERR_BAD_CONFIG' }));
    }
  });
});

describe('retention log line', () => {
  const tempDir = useTempDirs('raftledger-obs-');
  it('truncatePrefix that deletes segments reports them in one notice, which logs as a retention record', async () => {
    const notices: string[] = [];
    const log = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: 4096, onNotice: (m) => notices.push(m) });
    try {
      for (let i = 0; i < 40; i++) log.append(Buffer.alloc(400, i));
      await log.flush();
      expect(log.segmentCount).toBeGreaterThan(2);
      const first = await log.truncatePrefix(30);
      expect(first).toBeGreaterThan(1);
      const line = notices.find((n) => n.startsWith('retention: deleted segment'));
      expect(line, notices.join('\n')).toBeDefined();
      expect(parseLogLine(`[n0] storage: ${line!}`)).toMatchObject({ level: 'info', fields: { event: 'retention', node: 'n0', first } });
    } finally {
      await log.close();
    }
  });
});
