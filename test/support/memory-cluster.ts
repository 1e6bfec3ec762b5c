/**
 * A cluster of Ledgers in one process over real disks (temp dirs), with messages carried
 * through the real wire codec (so entries travel as their record bytes). Delivery is
 * automatic here (each message on setImmediate); test/replica/manual-net.ts is the same
 * cluster with delivery by hand. Nodes can be cut off (both directions) and
 * stopped/restarted from their directories.
 */
import { Ledger, type LedgerCoreOptions } from '../../src/replica/ledger.js';
import { encodeRaftMessage, decodeRaftMessage } from '../../src/transport/raft-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';
import type { Message } from '../../src/raft/index.js';
import { makeTempDir } from './tmp.js';
import { pollUntil } from './wait.js';

/** `message` as a socket would deliver it: encoded into a frame and decoded from its body. */
export function overTheWire(message: Message): Message {
  const frame = encodeRaftMessage(0, message);
  return decodeRaftMessage(Buffer.from(frame.subarray(FRAME_HEADER_BYTES))).message;
}

export class MemoryCluster {
  readonly ids: string[];
  readonly nodes = new Map<string, Ledger>();
  readonly dirs = new Map<string, string>();
  /** Messages from or to these are dropped. */
  readonly isolated = new Set<string>();
  readonly #cleanup: Array<() => void> = [];
  readonly #options: Partial<LedgerCoreOptions>;
  logs: string[] = [];

  constructor(size: number, options: Partial<LedgerCoreOptions> = {}, tempPrefix = 'raftledger-mc-') {
    this.ids = Array.from({ length: size }, (_, i) => `n${i}`);
    this.#options = options;
    for (const id of this.ids) {
      const t = makeTempDir(`${tempPrefix}${id}-`);
      this.dirs.set(id, t.dir);
      this.#cleanup.push(t.cleanup);
    }
  }

  /** What a node's link does with a message it sends: here, drop it if a side is cut off, else deliver it on setImmediate. */
  protected send(message: Message): void {
    if (this.isolated.has(message.from) || this.isolated.has(message.to)) return;
    const carried = overTheWire(message);
    setImmediate(() => this.receive(carried));
  }

  /** Hand `message` to its target now, unless the target is down. */
  protected receive(message: Message): void {
    const target = this.nodes.get(message.to);
    if (target === undefined || target.closed) return;
    target.receive(message);
  }

  /** Start `id` (options: this node's, over the cluster's). */
  async start(id: string, options: Partial<LedgerCoreOptions> = {}): Promise<Ledger> {
    const ledger = await Ledger.open({
      dir: this.dirs.get(id)!,
      id,
      members: this.ids,
      link: { send: (m) => this.send(m) },
      segmentSizeBytes: 1024 * 1024,
      tickMs: 5,
      electionTicks: 20,
      heartbeatTicks: 4,
      onLog: (line) => this.logs.push(line),
      ...this.#options,
      ...options,
    });
    this.nodes.set(id, ledger);
    return ledger;
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
  }

  async stop(id: string): Promise<void> {
    const node = this.nodes.get(id);
    this.nodes.delete(id);
    await node?.close();
  }

  node(id: string): Ledger {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`${id} is not running`);
    return n;
  }

  leader(): Ledger | undefined {
    const leaders = [...this.nodes.values()].filter((n) => !n.closed && n.role === 'leader' && !this.isolated.has(n.id));
    return leaders.length === 1 ? leaders[0] : leaders.sort((a, b) => b.term - a.term)[0];
  }

  async waitForLeader(timeoutMs = 10_000, exclude?: string): Promise<Ledger> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const l = this.leader();
      if (l !== undefined && l.id !== exclude) return l;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no leader within ${timeoutMs} ms\n${this.logs.slice(-20).join('\n')}`);
  }

  waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return pollUntil(condition, what, { limitMs: timeoutMs });
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.close()));
    this.nodes.clear();
    for (const c of this.#cleanup) c();
  }
}
