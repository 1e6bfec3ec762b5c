/**
 * The simulator's network: cut links (partitions, one-way cuts), random drops, delays,
 * duplicates and reorders. Links are FIFO like the TCP transport (a slow message delays
 * the ones behind it), except that with probability pReorder a message overtakes or falls
 * behind the others (reconnects, multiple connections). Every random draw comes from the
 * network's own generator, in a fixed order per message, so a seed replays exactly.
 */
import type { Rng } from '../../raft/prng.js';
import type { Message } from '../../raft/types.js';
import { describeMessage } from './trace-format.js';

export class SimNetwork {
  pDrop = 0;
  pDup = 0;
  maxDelay = 0;
  pReorder = 0;
  /** Cut links, as 'from>to'. */
  readonly cut = new Set<string>();
  readonly #linkLast = new Map<string, number>();
  readonly #rng: Rng;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /**
   * Send `m` at virtual time `now`: `deliver` is called with its delivery time (twice for a
   * duplicate), nothing when it is dropped (traced).
   */
  send(m: Message, now: number, deliver: (timeMs: number) => void, trace: (line: string) => void): void {
    if (this.cut.has(`${m.from}>${m.to}`)) {
      trace(`drop(cut) ${describeMessage(m)}`);
      return;
    }
    const r = this.#rng;
    if (r() < this.pDrop) {
      trace(`drop ${describeMessage(m)}`);
      return;
    }
    const delay = r() < 0.02 ? 1 + Math.floor(r() * 200) : 1 + Math.floor(r() * this.maxDelay);
    deliver(this.#linkTime(m, now + delay));
    if (r() < this.pDup) deliver(this.#linkTime(m, now + 1 + Math.floor(r() * this.maxDelay * 3)));
  }

  #linkTime(m: Message, t: number): number {
    if (this.#rng() < this.pReorder) return t;
    const key = `${m.from}>${m.to}`;
    const last = this.#linkLast.get(key) ?? 0;
    if (t < last) t = last;
    this.#linkLast.set(key, t);
    return t;
  }
}
