/**
 * The in-memory cluster of test/support/memory-cluster.ts with delivery by hand (test
 * support for the exactly-once tests): messages go through the wire codec into one FIFO
 * queue, and the test delivers them (all, some, or none), cuts nodes off, or hands one
 * message over at a chosen moment. Elections happen only by campaign(): the election
 * timeout is far beyond any test.
 */
import type { LedgerCoreOptions } from '../../src/replica/ledger.js';
import type { Message } from '../../src/raft/index.js';
import { MemoryCluster, overTheWire } from '../support/memory-cluster.js';

export class ManualNet extends MemoryCluster {
  queue: Message[] = [];

  constructor(size: number, options: Partial<LedgerCoreOptions> = {}) {
    super(size, { electionTicks: 1_000_000, appendTimeoutMs: 60_000, ...options }, 'raftledger-mn-');
  }

  /** Messages from or to these are dropped when delivered. */
  get cut(): Set<string> {
    return this.isolated;
  }

  protected override send(message: Message): void {
    this.queue.push(overTheWire(message));
  }

  /** Hand one message to its target now (unless a side is cut off or down). */
  deliver(m: Message): void {
    if (this.cut.has(m.from) || this.cut.has(m.to)) return;
    this.receive(m);
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
}
