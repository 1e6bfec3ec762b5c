/**
 * The server's Prometheus metrics (prom-client, text format).
 *
 * Everything per group is read lazily at scrape time: render() takes one host status
 * snapshot (every group's Ledger status, across worker threads through the host RPC) and
 * the metrics' collect() callbacks read it. Nothing is observed on the append path here:
 * the counters and latency histograms that must be counted there live in the Ledger
 * (replica/ledger-stats.ts, one observe per append() call and per flush) and arrive in
 * the snapshot. Thread-wide numbers (Raft transport drops) arrive with every group of a
 * thread and are read once per worker.
 *
 * Client-port counters come through ClientPortCounters (the listener's stats(), when it
 * has one) plus connectionRejected(reason), a hook for refusals counted elsewhere. With
 * workers, each worker's client port is read once per scrape too (workerClientPorts); the
 * raftledger_client_* series are the node's totals over all its client ports, and the
 * raftledger_worker_client_* series the worker ports one by one.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricType } from 'prom-client';
import type { HostStatus } from '../host/ledger-host.js';
import type { GroupStatus } from '../host/protocol.js';
import type { HistogramSnapshot } from '../replica/ledger-stats.js';
import type { LoopDelaySnapshot } from './loop-delay.js';

/** The client port's counters (structurally the client listener's stats()). */
export interface ClientPortCounters {
  connections: number;
  /** Refused at the connection cap. */
  refused?: number;
  acceptErrors?: number;
  /** Refused by TLS or authentication, or past the pending-handshake cap (plaintext, tls, token, pending_handshakes). */
  rejectedByReason?: Record<string, number>;
  /** Accepted and not yet authenticated (TLS handshake or auth frame under way). */
  pendingHandshakes?: number;
  closedIdle?: number;
  closedFrameTimeout?: number;
  closedOverBuffer?: number;
}

export interface MetricsSource {
  hostStatus(): Promise<HostStatus>;
  clientPort?(): ClientPortCounters | undefined;
  /** Each worker's client port (workers > 0), read once per scrape. */
  workerClientPorts?(): Promise<Array<{ worker: number; counters: ClientPortCounters }>>;
  loopDelay(): LoopDelaySnapshot;
  /** 1 when /health/ready would answer 200 (evaluated on the same snapshot). */
  ready?(status: HostStatus): boolean;
}

const ROLES = ['follower', 'preCandidate', 'candidate', 'leader'] as const;

const CLOSE_REASONS: ReadonlyArray<[string, (c: ClientPortCounters) => number | undefined]> = [
  ['idle', (c) => c.closedIdle],
  ['frame_timeout', (c) => c.closedFrameTimeout],
  ['over_buffer', (c) => c.closedOverBuffer],
];

/** One client port's refusals by reason: at the cap (max_connections), accept errors, and its own reasons. */
function rejectedOf(c: ClientPortCounters): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  if (c.refused !== undefined) out.push(['max_connections', c.refused]);
  if (c.acceptErrors !== undefined) out.push(['accept_error', c.acceptErrors]);
  out.push(...Object.entries(c.rejectedByReason ?? {}));
  return out;
}
const FOLLOWER_STATES = ['probe', 'replicate', 'catchUp'] as const;

type Labels = Record<string, string | number>;
type Emit = (labels: Labels, value: number) => void;

/** A histogram whose buckets were counted elsewhere (a Ledger's FixedHistogram snapshot). */
class ShippedHistogram extends Histogram<string> {
  readonly #name: string;
  readonly #help: string;
  readonly #read: () => Array<{ labels: Labels; h: HistogramSnapshot }>;

  constructor(name: string, help: string, labelNames: string[], read: () => Array<{ labels: Labels; h: HistogramSnapshot }>) {
    super({ name, help, labelNames, registers: [] });
    this.#name = name;
    this.#help = help;
    this.#read = read;
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    const values: Array<{ metricName: string; labels: Labels; value: number }> = [];
    for (const { labels, h } of this.#read()) {
      let cumulative = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cumulative += h.counts[i] ?? 0;
        values.push({ metricName: `${this.#name}_bucket`, labels: { ...labels, le: h.bounds[i]! }, value: cumulative });
      }
      cumulative += h.counts[h.bounds.length] ?? 0;
      values.push({ metricName: `${this.#name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${this.#name}_sum`, labels, value: h.sumSeconds });
      values.push({ metricName: `${this.#name}_count`, labels, value: h.count });
    }
    return { name: this.#name, help: this.#help, type: 'histogram' as unknown as MetricType, aggregator: 'sum', collect: () => {}, values };
  }

  /** The registry's text format asks histograms through this (prom-client 15). */
  getForPromString(): ReturnType<Histogram<string>['get']> {
    return this.get();
  }
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #source: MetricsSource;
  readonly #rejected = new Map<string, number>();
  #snapshot: HostStatus = { threadId: 0, workers: [], groups: [] };
  #workerPorts: Array<{ worker: number; counters: ClientPortCounters }> = [];

  constructor(source: MetricsSource, options: { defaultMetrics?: boolean } = {}) {
    this.#source = source;
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#defineGroupMetrics();
    this.#defineFollowerMetrics();
    this.#defineProcessMetrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Count a client connection refused for `reason` (a hook for refusals the client port's stats do not carry). */
  connectionRejected(reason: string): void {
    this.#rejected.set(reason, (this.#rejected.get(reason) ?? 0) + 1);
  }

  /** One scrape: a fresh host snapshot, then every metric in text format. */
  async render(): Promise<string> {
    const [snapshot, workerPorts] = await Promise.all([this.#source.hostStatus(), this.#source.workerClientPorts?.() ?? []]);
    this.#snapshot = snapshot;
    this.#workerPorts = workerPorts;
    return this.registry.metrics();
  }

  #gauge(name: string, help: string, labelNames: string[], fill: (emit: Emit) => void): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, value) => this.set(labels, value));
      },
    });
  }

  #counter(name: string, help: string, labelNames: string[], fill: (emit: Emit) => void): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, value) => this.inc(labels, Math.max(0, value)));
      },
    });
  }

  #perGroup(emit: Emit, value: (g: GroupStatus) => number | undefined): void {
    for (const g of this.#snapshot.groups) {
      const v = value(g);
      if (v !== undefined && Number.isFinite(v)) emit({ group: g.group }, v);
    }
  }

  #defineGroupMetrics(): void {
    const g = (name: string, help: string, value: (s: GroupStatus) => number | undefined): void =>
      this.#gauge(name, help, ['group'], (emit) => this.#perGroup(emit, value));
    const c = (name: string, help: string, value: (s: GroupStatus) => number | undefined): void =>
      this.#counter(name, help, ['group'], (emit) => this.#perGroup(emit, value));
    this.#gauge('raftledger_role', 'Raft role of this replica: 1 for the current role, 0 for the others', ['group', 'role'], (emit) => {
      for (const s of this.#snapshot.groups) for (const role of ROLES) emit({ group: s.group, role }, s.role === role ? 1 : 0);
    });
    g('raftledger_term', 'Current Raft term', (s) => s.term);
    g('raftledger_leader_known', '1 when this replica knows a leader of the current term', (s) => (s.leader === '' ? 0 : 1));
    g('raftledger_commit_index', 'Highest committed log index known to this replica', (s) => s.commitIndex);
    g('raftledger_last_index', 'Last log index written on this replica', (s) => s.lastIndex);
    g('raftledger_first_index', 'First log index still held on this replica', (s) => s.firstIndex);
    g('raftledger_durable_index', 'Highest log index known flushed to disk', (s) => s.durableIndex);
    g('raftledger_pending_appends', 'Appends waiting for their commit verdict', (s) => s.pendingAppends);
    g('raftledger_leader_commit_index', 'Highest commit index a leader sent this replica (followers)', (s) => s.stats?.leaderCommit);
    g('raftledger_leader_contact_age_seconds', 'Seconds since the last AppendEntries or heartbeat from a leader (followers; absent before the first)', (s) =>
      s.stats === undefined || s.stats.msSinceLeaderContact < 0 || s.role === 'leader' ? undefined : s.stats.msSinceLeaderContact / 1000,
    );
    c('raftledger_leader_changes_total', 'Times the known leader changed to a new leader', (s) => s.stats?.leaderChanges);
    c('raftledger_elections_total', 'Elections this replica started', (s) => s.stats?.elections);
    c('raftledger_appends_total', 'Entries accepted by append() on this replica as leader', (s) => s.stats?.appends);
    c('raftledger_append_bytes_total', 'Payload bytes of the entries accepted by append() on this replica as leader', (s) => s.stats?.appendBytes);
    g('raftledger_damaged_records', 'Log records known damaged and not yet repaired (the replica does not vote or lead meanwhile)', (s) => s.repair?.damagedNow);
    c('raftledger_damaged_records_found_total', 'Damaged log records found (start-up check, scrub, reads)', (s) => s.repair?.damagedFound);
    c('raftledger_records_repaired_total', 'Damaged log records repaired in place from a peer', (s) => s.repair?.repaired);
    c('raftledger_repair_fetched_bytes_total', 'Record bytes received from peers for repairs', (s) => s.repair?.bytesFetched);
    c('raftledger_scrub_verified_bytes_total', 'Record bytes the background scrub re-verified', (s) => s.repair?.scrub.bytesVerified);
    g('raftledger_scrub_position_index', 'Next index the background scrub verifies', (s) => (s.repair?.scrub.running === true ? s.repair.scrub.cursorIndex : undefined));
    c('raftledger_scrub_passes_total', 'Complete passes of the background scrub over the log', (s) => s.repair?.scrub.passes);
    const histograms = (pick: (s: GroupStatus) => HistogramSnapshot | undefined) => (): Array<{ labels: Labels; h: HistogramSnapshot }> =>
      this.#snapshot.groups.flatMap((s) => {
        const h = pick(s);
        return h === undefined ? [] : [{ labels: { group: s.group }, h }];
      });
    this.registry.registerMetric(
      new ShippedHistogram('raftledger_commit_latency_seconds', 'Propose to commit on the leader, per append() call', ['group'], histograms((s) => s.stats?.commitLatency)),
    );
    this.registry.registerMetric(
      new ShippedHistogram('raftledger_fsync_latency_seconds', 'Duration of one log flush (group commit) including a pending hard-state save', ['group'], histograms((s) => s.stats?.fsyncLatency)),
    );
  }

  #defineFollowerMetrics(): void {
    const each = (emit: Emit, value: (f: GroupStatus['followers'][string]) => number | undefined): void => {
      for (const s of this.#snapshot.groups) {
        if (s.role !== 'leader') continue;
        for (const [peer, f] of Object.entries(s.followers)) {
          const v = value(f);
          if (v !== undefined) emit({ group: s.group, peer }, v);
        }
      }
    };
    const labels = ['group', 'peer'];
    this.#gauge('raftledger_follower_match_index', 'Highest index the leader knows the follower holds (on the leader)', labels, (emit) => each(emit, (f) => f.match));
    this.#gauge('raftledger_follower_lag_entries', "Leader's last index minus the follower's match index (on the leader)", labels, (emit) => each(emit, (f) => f.lag));
    this.#gauge('raftledger_follower_lag_bytes', "Log bytes from the follower's match to the leader's write position (on the leader)", labels, (emit) => each(emit, (f) => f.lagBytes));
    this.#gauge('raftledger_follower_active', '1 when the follower answered within the last election timeout (on the leader)', labels, (emit) => each(emit, (f) => (f.active ? 1 : 0)));
    this.#gauge('raftledger_follower_state', 'Replication state of the follower: 1 for the current (probe, replicate, catchUp)', ['group', 'peer', 'state'], (emit) => {
      for (const s of this.#snapshot.groups) {
        if (s.role !== 'leader') continue;
        for (const [peer, f] of Object.entries(s.followers)) for (const state of FOLLOWER_STATES) emit({ group: s.group, peer, state }, f.state === state ? 1 : 0);
      }
    });
  }

  /** The node's client port (when it has one) and every worker's. */
  #clientPorts(): ClientPortCounters[] {
    const main = this.#source.clientPort?.();
    return [...(main !== undefined ? [main] : []), ...this.#workerPorts.map((w) => w.counters)];
  }

  /** One transport snapshot per worker thread (every group of a thread carries the same one). */
  #transports(): Array<{ worker: number; t: NonNullable<GroupStatus['transport']> }> {
    const seen = new Map<number, NonNullable<GroupStatus['transport']>>();
    for (const s of this.#snapshot.groups) if (s.transport !== undefined && !seen.has(s.worker)) seen.set(s.worker, s.transport);
    return [...seen].map(([worker, t]) => ({ worker, t }));
  }

  #defineProcessMetrics(): void {
    this.#gauge('raftledger_event_loop_delay_seconds', "Event-loop delay of the server's main thread over the last window (stat: p99, max)", ['stat'], (emit) => {
      const d = this.#source.loopDelay();
      emit({ stat: 'p99' }, d.p99Ms / 1000);
      emit({ stat: 'max' }, d.maxMs / 1000);
    });
    const sum = (pick: (c: ClientPortCounters) => number | undefined): number | undefined => {
      const values = this.#clientPorts().map(pick).filter((v): v is number => v !== undefined);
      return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
    };
    this.#gauge('raftledger_client_connections', "Open connections on the node's client ports (the node's and, with workers, every worker's)", [], (emit) => {
      const n = sum((c) => c.connections);
      if (n !== undefined) emit({}, n);
    });
    this.#gauge('raftledger_client_pending_handshakes', "Client connections in their TLS handshake or awaiting their auth frame, over the node's client ports", [], (emit) => {
      const n = sum((c) => c.pendingHandshakes);
      if (n !== undefined) emit({}, n);
    });
    this.#counter('raftledger_client_connections_rejected_total', "Client connections refused, by reason, over the node's client ports", ['reason'], (emit) => {
      const reasons = new Map(this.#rejected);
      for (const c of this.#clientPorts()) for (const [reason, n] of rejectedOf(c)) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
      for (const [reason, n] of reasons) emit({ reason }, n);
    });
    this.#counter('raftledger_client_connections_closed_total', "Client connections closed by the server, by reason, over the node's client ports", ['reason'], (emit) => {
      for (const [reason, pick] of CLOSE_REASONS) {
        const n = sum(pick);
        if (n !== undefined) emit({ reason }, n);
      }
    });
    this.#gauge('raftledger_worker_client_connections', "Open connections on a worker's client port", ['worker'], (emit) => {
      for (const { worker, counters } of this.#workerPorts) emit({ worker }, counters.connections);
    });
    this.#counter('raftledger_worker_client_connections_rejected_total', "Connections refused by a worker's client port, by reason", ['worker', 'reason'], (emit) => {
      for (const { worker, counters } of this.#workerPorts) for (const [reason, n] of rejectedOf(counters)) emit({ worker, reason }, n);
    });
    this.#counter('raftledger_peer_frames_dropped_total', 'Raft messages dropped by the send-queue policy (peer not connected, queue over its cap, pending at close)', ['worker', 'peer'], (emit) => {
      for (const { worker, t } of this.#transports()) for (const [peer, p] of Object.entries(t.peers)) emit({ worker, peer }, p.dropped);
    });
    this.#gauge('raftledger_peer_connected', '1 when the Raft connection to the peer is up', ['worker', 'peer'], (emit) => {
      for (const { worker, t } of this.#transports()) for (const [peer, p] of Object.entries(t.peers)) emit({ worker, peer }, p.connected ? 1 : 0);
    });
    this.#gauge('raftledger_peer_queued_bytes', 'Bytes waiting to be sent to the peer', ['worker', 'peer'], (emit) => {
      for (const { worker, t } of this.#transports()) for (const [peer, p] of Object.entries(t.peers)) emit({ worker, peer }, p.queuedBytes);
    });
    this.#counter('raftledger_peer_handshakes_refused_total', 'Raft handshakes refused (by this node or by the peer it dialed)', ['worker'], (emit) => {
      for (const { worker, t } of this.#transports()) emit({ worker }, t.refused);
    });
    this.#counter('raftledger_peer_connections_rejected_total', 'Inbound Raft connections refused, by reason (plaintext, tls, identity, handshake)', ['worker', 'reason'], (emit) => {
      for (const { worker, t } of this.#transports()) for (const [reason, n] of Object.entries(t.refusedByReason ?? {})) emit({ worker, reason }, n);
    });
    this.#counter('raftledger_worker_restarts_total', 'Worker thread restarts after a crash', ['worker'], (emit) => {
      for (const w of this.#snapshot.workers) emit({ worker: w.index }, w.restarts);
    });
    this.#gauge('raftledger_ready', '1 when /health/ready answers 200', [], (emit) => {
      if (this.#source.ready !== undefined) emit({}, this.#source.ready(this.#snapshot) ? 1 : 0);
    });
  }
}
