/**
 * A hand-driven cluster for scripted scenarios: every message sits in a queue
 * until the test delivers (or drops) it, and every node's disk flushes only
 * when told (or automatically, with autoFlush).
 */
import {
  MemoryStorage,
  RaftCore,
  mulberry32,
  type Entry,
  type Message,
  type RaftConfig,
  type Ready,
} from '../../src/raft/index.js';

export class TestNode {
  core: RaftCore;
  /** What the core's LogStorage shows: everything written. */
  storage = new MemoryStorage();
  /** Messages waiting for this node's disk. */
  held: Message[] = [];
  autoFlush = true;
  applied: Entry[] = [];
  readies: Ready[] = [];
  unflushed = false;

  constructor(
    readonly id: string,
    readonly cluster: TestCluster,
    readonly cfg: Partial<RaftConfig>,
  ) {
    this.core = this.makeCore();
  }

  makeCore(): RaftCore {
    return new RaftCore({
      id: this.id,
      peers: this.cluster.ids,
      storage: this.storage,
      rng: mulberry32(this.cluster.ids.indexOf(this.id) + 1),
      ...this.cfg,
    });
  }

  /** Handles every Ready; tagged messages wait for flush(). */
  drain(): void {
    for (;;) {
      const rd = this.core.ready();
      if (rd === null) break;
      this.readies.push(rd);
      if (rd.hardState) this.storage.setHardState(rd.hardState);
      if (rd.entries.length > 0) this.storage.append(rd.entries);
      if (rd.hardState || rd.entries.length > 0) this.unflushed = true;
      for (const m of rd.messages) {
        if (m.waitForHardState || m.waitForDurableIndex !== undefined) this.held.push(m);
        else this.cluster.queue.push(m);
      }
      if (rd.committed) {
        for (let i = rd.committed.from; i <= rd.committed.to; i++) this.applied.push(this.storage.entry(i)!);
      }
      this.core.advance(rd);
      if (this.autoFlush) this.flush();
    }
  }

  /** The disk catches up: everything written is durable. */
  flush(): void {
    this.unflushed = false;
    const held = this.held;
    this.held = [];
    for (const m of held) this.cluster.queue.push(m);
    const last = this.storage.lastIndex();
    this.core.markDurable(last, this.storage.term(last)!);
    this.drain();
  }
}

export class TestCluster {
  nodes = new Map<string, TestNode>();
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

  node(id: string): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: string): RaftCore {
    return this.node(id).core;
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
      this.node(m.to).core.step(m);
      this.node(m.to).drain();
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
      to.core.step(m);
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
      node.core.tick();
      node.drain();
    }
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.ids) this.tick(id);
  }

  /** Campaigns `id` and delivers until quiet. */
  elect(id: string): void {
    this.core(id).campaign();
    this.deliverAll();
  }

  /** A node restarts from what its storage holds (all written data is considered durable here). */
  restart(id: string): void {
    const n = this.node(id);
    n.held = [];
    n.core = n.makeCore();
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
