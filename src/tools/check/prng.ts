import { mulberry32, type Rng } from '../../raft/prng.js';

/** The Raft core's seeded generator (mulberry32) with helpers, so fault schedules replay from their seed. */
export class Prng {
  readonly #rng: Rng;

  /** Seed 0 stands for 0x9e3779b9. */
  constructor(seed: number) {
    this.#rng = mulberry32(seed >>> 0 || 0x9e3779b9);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.#rng();
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}
