/**
 * The simulator's network: cut links (partitions, one-way cuts), random drops, delays,
 * duplicates and reorders. Links are FIFO like the TCP transport (a slow message delays
 * the ones behind it), except that with probability pReorder a message overtakes or falls
 * behind the others (reconnects, multiple connections). Every random draw comes from the
 * network's own generator, in a fixed order per message, so a seed replays exactly.
 */
import type { Rng } from '../../raft/prng.js';
import { isFollowerAnswer, type Message } from '../../raft/types.js';
import { describeMessage } from './trace-format.js';

export class SimNetwork {
  pDrop = 0;
  pDup = 0;
  maxDelay = 0;
  /**
   * The latest arrival of an answer to a leader delayed by more than leaseSlackMs (a heartbeat
   * interval): only such an answer can extend a lease past the follower's election timer (reads.ts).
   */
  lateArrivalMs = 0;
  leaseSlackMs = Number.POSITIVE_INFINITY;
  pReorder = 0;
  /** Cut links, as 'from>to'. */
  readonly cut = new Set<string>();
  readonly #linkLast = new Map<string, number>();
  readonly #rng: Rng;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /** A symmetric partition: a random minority (1..n/2 nodes) cut off from the rest; the draws of `r` are part of a seed's schedule. */
  partitionMinority(ids: readonly string[], r: Rng): Set<string> {
    this.cut.clear();
    const shuffled = ids.slice().sort(() => r() - 0.5);
    const k = 1 + Math.floor(r() * Math.floor(ids.length / 2));
    const side = new Set(shuffled.slice(0, k));
    for (const a of ids) {
      for (const b of ids) if (a !== b && side.has(a) !== side.has(b)) this.cut.add(`${a}>${b}`);
    }
    return side;
  }

  /** Cut one random link in one direction; returns it as 'a>b'. */
  cutOneWay(ids: readonly string[], r: Rng): string {
    const n = ids.length;
    const a = ids[Math.floor(r() * n)] as string;
    let b = ids[Math.floor(r() * n)] as string;
    if (a === b) b = ids[(ids.indexOf(a) + 1) % n] as string;
    this.cut.add(`${a}>${b}`);
    return `${a}>${b}`;
  }

  /** Random drop, duplication, delay and reorder rates; returns them for the trace. */
  randomize(r: Rng): string {
    this.pDrop = r() < 0.5 ? 0 : r() * 0.3;
    this.pDup = r() < 0.5 ? 0 : r() * 0.15;
    this.maxDelay = 1 + Math.floor(r() * 40);
    this.pReorder = r() < 0.5 ? 0 : r() * 0.1;
    return `drop=${this.pDrop.toFixed(3)} dup=${this.pDup.toFixed(3)} maxDelay=${this.maxDelay} reorder=${this.pReorder.toFixed(3)}`;
  }

  /** No cuts, no drops, duplicates or reordering, and short delays: the network after the heal. */
  calm(): void {
    this.cut.clear();
    this.pDrop = 0;
    this.pDup = 0;
    this.pReorder = 0;
    this.maxDelay = Math.min(this.maxDelay, 10);
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
    const late = r() < 0.02;
    const delay = late ? 1 + Math.floor(r() * 200) : 1 + Math.floor(r() * this.maxDelay);
    if (late && delay > this.leaseSlackMs && isFollowerAnswer(m) && now + delay > this.lateArrivalMs) this.lateArrivalMs = now + delay;
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
