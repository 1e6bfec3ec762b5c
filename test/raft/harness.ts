/**
 * A hand-driven cluster for scripted scenarios: every message sits in a queue
 * until the test delivers (or drops) it, and every node's disk flushes only
 * when told (or automatically, with autoFlush). The nodes are the simulator's
 * (src/tools/sim/driver.ts); only the network is manual here.
 */
import { mulberry32, type ConfChange, type Entry, type Message, type RaftConfig, type RaftCore, type Ready } from '../../src/raft/index.js';
import type { MemoryStorage } from '../../src/raft/storage.js';
import { DriverNode } from '../../src/tools/sim/driver.js';

export class TestNode extends DriverNode {
  applied: Entry[] = [];
  readies: Ready[] = [];

  constructor(id: string, cluster: TestCluster, cfg: Partial<RaftConfig>, peers: readonly string[] = cluster.ids) {
    super(
      id,
      peers,
      {
        send: (_n, m) => {
          cluster.queue.push(m);
          cluster.tracer?.sent(m);
        },
        ready: (n, rd) => {
          this.readies.push(rd);
          cluster.tracer?.ready(n, rd);
        },
        apply: (_n, ents) => this.applied.push(...ents),
        flushed: (n) => cluster.tracer?.flushed(n),
      },
      () => ({ rng: mulberry32(cluster.ids.indexOf(id) + 1), ...cfg }),
    );
    this.autoFlush = true;
    this.start();
  }

  /** The running core (scenarios never look at a node that is down). */
  get raft(): RaftCore {
    if (this.core === null) throw new Error(`${this.id} is down`);
    return this.core;
  }

  /** What the core's LogStorage shows: everything written. */
  get storage(): MemoryStorage {
    return this.live;
  }

  /** Replaces the disk (e.g. with one that lost entries) for the next restart. */
  set storage(s: MemoryStorage) {
    this.durable = s;
    this.live = s;
  }
}

/** Sees what the nodes do (the golden-trace scripts print it). */
export interface ClusterTracer {
  sent(m: Message): void;
  ready(node: DriverNode, rd: Ready): void;
  flushed(node: DriverNode): void;
}

export class TestCluster {
  nodes = new Map<string, TestNode>();
  tracer: ClusterTracer | null = null;
  queue: Message[] = [];
  /** Sees every message taken off the queue (delivered or dropped). */
  observer: ((m: Message) => void) | null = null;
  /** Links that drop messages: "a->b". */
  cut = new Set<string>();

  constructor(
    readonly ids: string[],
    cfg: Partial<RaftConfig> = {},
  ) {
    for (const id of ids) this.nodes.set(id, new TestNode(id, this, cfg));
  }

  /** Starts a node outside the bootstrap configuration: it knows the voters `peers` and starts as a learner itself. */
  addLearnerNode(id: string, peers: readonly string[], cfg: Partial<RaftConfig> = {}): TestNode {
    this.ids.push(id);
    const n = new TestNode(id, this, { learners: [id], ...cfg }, peers);
    this.nodes.set(id, n);
    return n;
  }

  /** Proposes a membership change on `id` (which must lead); returns the Config entry's index. */
  changeConf(id: string, cc: ConfChange): number {
    const index = this.core(id).proposeConfChange(cc);
    this.node(id).drain();
    return index;
  }

  node(id: string): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: string): RaftCore {
    return this.node(id).raft;
  }

  drainAll(): void {
    for (const n of this.nodes.values()) n.drain();
  }

  /** Isolates `id` from everyone (both directions). */
  isolate(id: string): void {
    for (const o of this.ids) {
      if (o === id) continue;
      this.cut.add(`${id}->${o}`);
      this.cut.add(`${o}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Delivers one queued message matching `pred` (default: the first); returns it. */
  deliverOne(pred: (m: Message) => boolean = () => true): Message | undefined {
    this.drainAll();
    const i = this.queue.findIndex(pred);
    if (i < 0) return undefined;
    const [m] = this.queue.splice(i, 1);
    if (!m) return undefined;
    this.observer?.(m);
    if (!this.cut.has(`${m.from}->${m.to}`)) {
      const to = this.node(m.to);
      to.core?.step(m);
      to.drain();
    }
    return m;
  }

  /** Delivers messages until the network is quiet (or `limit`), dropping those on cut links or matching `drop`. */
  deliverAll(drop: (m: Message) => boolean = () => false, limit = 100_000): number {
    let n = 0;
    this.drainAll();
    while (this.queue.length > 0 && n < limit) {
      const m = this.queue.shift()!;
      n++;
      this.observer?.(m);
      if (this.cut.has(`${m.from}->${m.to}`) || drop(m)) continue;
      const to = this.node(m.to);
      to.core?.step(m);
      to.drain();
      this.drainAll();
    }
    return n;
  }

  /** Removes queued messages matching pred (e.g. to drop them). */
  dropWhere(pred: (m: Message) => boolean): Message[] {
    const dropped = this.queue.filter(pred);
    this.queue = this.queue.filter((m) => !pred(m));
    return dropped;
  }

  tick(id: string, n = 1): void {
    const node = this.node(id);
    for (let i = 0; i < n; i++) {
      node.raft.tick();
      node.drain();
    }
  }

  /**
   * Delivers until quiet, then ticks `leader` once and delivers again: a commit advance
   * reaches the followers with the next append or, when none follows, the leader's next tick.
   */
  settle(leader: string): void {
    this.deliverAll();
    this.tick(leader);
    this.deliverAll();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.ids) this.tick(id);
  }

  /** Campaigns `id` and delivers until quiet. */
  elect(id: string): void {
    this.core(id).campaign();
    this.deliverAll();
  }

  /** A node crashes and restarts from its durable state (unflushed writes are lost; with autoFlush there are none). */
  restart(id: string): void {
    const n = this.node(id);
    n.crash();
    n.start();
  }

  leaders(): string[] {
    return this.ids.filter((id) => this.core(id).role === 'leader');
  }

  propose(id: string, ...payloads: string[]): number {
    const first = this.core(id).propose(payloads.map((p) => new TextEncoder().encode(p)));
    this.node(id).drain();
    return first;
  }

  /** Decoded payloads of a node's log (1..lastIndex), '-' for no-ops. */
  logOf(id: string): string[] {
    const c = this.core(id);
    const ents = c.entries(c.firstIndex, c.lastIndex + 1) ?? [];
    return ents.map((e) => (e.type === 2 ? `-${e.term}` : `${new TextDecoder().decode(e.data)}@${e.term}`));
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
