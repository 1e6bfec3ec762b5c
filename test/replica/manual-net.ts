/**
 * Ledgers on real disks over a network delivered by hand (test support for the exactly-once
 * tests): messages go through the wire codec into one FIFO queue, and the test delivers them
 * (all, some, or none), cuts nodes off, or hands one message over at a chosen moment.
 * Elections happen only by campaign(): the election timeout is far beyond any test.
 */
import { Ledger, type LedgerCoreOptions } from '../../src/replica/ledger.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/transport/raft-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';
import type { Message } from '../../src/raft/index.js';
import { makeTempDir } from '../support/tmp.js';

export class ManualNet {
  readonly ids: string[];
  readonly nodes = new Map<string, Ledger>();
  readonly dirs = new Map<string, string>();
  /** Messages from or to these are dropped when delivered. */
  readonly cut = new Set<string>();
  queue: Message[] = [];
  logs: string[] = [];
  readonly #cleanup: Array<() => void> = [];
  readonly #options: Partial<LedgerCoreOptions>;

  constructor(size: number, options: Partial<LedgerCoreOptions> = {}) {
    this.ids = Array.from({ length: size }, (_, i) => `n${i}`);
    this.#options = options;
    for (const id of this.ids) {
      const t = makeTempDir(`raftledger-mn-${id}-`);
      this.dirs.set(id, t.dir);
      this.#cleanup.push(t.cleanup);
    }
  }

  async start(id: string, options: Partial<LedgerCoreOptions> = {}): Promise<Ledger> {
    const ledger = await Ledger.open({
      dir: this.dirs.get(id)!,
      id,
      members: this.ids,
      link: {
        send: (m) => {
          // Through the wire codec, as a socket would carry it.
          const frame = encodeRaftMessage(0, m);
          this.queue.push(decodeRaftMessage(Buffer.from(frame.subarray(FRAME_HEADER_BYTES))).message);
        },
      },
      segmentSizeBytes: 1024 * 1024,
      tickMs: 5,
      electionTicks: 1_000_000,
      heartbeatTicks: 4,
      appendTimeoutMs: 60_000,
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

  /** Hand one message to its target now (unless a side is cut off or down). */
  deliver(m: Message): void {
    if (this.cut.has(m.from) || this.cut.has(m.to)) return;
    const target = this.nodes.get(m.to);
    if (target === undefined || target.closed) return;
    target.receive(m);
  }

  /** Take the queued messages that match (they are not delivered). */
  take(match: (m: Message) => boolean): Message[] {
    const taken = this.queue.filter(match);
    this.queue = this.queue.filter((m) => !match(m));
    return taken;
  }

  /** Deliver queued messages (new ones too, except those `hold` keeps queued) until `until` holds or `maxRounds` turns pass; throws if it never holds. */
  async run(until: () => boolean, what: string, options: { maxRounds?: number; hold?: (m: Message) => boolean } = {}): Promise<void> {
    const maxRounds = options.maxRounds ?? 2_000;
    for (let round = 0; round < maxRounds; round++) {
      if (until()) return;
      const hold = options.hold;
      const batch = hold === undefined ? this.queue : this.queue.filter((m) => !hold(m));
      this.queue = hold === undefined ? [] : this.queue.filter(hold);
      for (const m of batch) this.deliver(m);
      await new Promise((r) => setTimeout(r, 1));
    }
    if (!until()) throw new Error(`never: ${what}\n${this.describe()}\n${this.logs.slice(-20).join('\n')}`);
  }

  /** One line per running node: role, term, last and commit index, and a leader's view of its followers. */
  describe(): string {
    return [...this.nodes.values()]
      .map((l) => {
        const s = l.status();
        const followers = Object.entries(s.followers).map(([id, f]) => `${id}:${f.state}/m${f.match}/n${f.next}`);
        return `${l.id} ${s.role} t${s.term} last=${s.lastIndex} commit=${s.commitIndex} durable=${s.durableIndex} pending=${s.pendingAppends} ${followers.join(' ')}`;
      })
      .join('\n');
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.close()));
    this.nodes.clear();
    for (const c of this.#cleanup) c();
  }
}
