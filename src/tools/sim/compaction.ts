/**
 * Where the simulator's nodes compact to. Usually every node drops its entries below X,
 * the highest index that every node (up or down) holds durably as committed and every
 * running node has applied, and a leader also stays at or below what each follower
 * confirmed; no follower then needs a compacted entry. In "own" rounds (the seed's
 * probability `compactOwn`) a node compacts up to what it alone holds durably as committed
 * and has applied (retention without regard for the others), so lagging, restarted and
 * crashed followers are caught up through a log start (docs/RAFT.md).
 */
import type { Rng } from '../../raft/prng.js';
import type { DriverNode } from './driver.js';
import { confAt } from './membership.js';
import type { SimNode } from './sim-node.js';

/** X: the index below which every node may drop entries without regard for the leaders' views. */
export function commonCompactionPoint(nodes: readonly DriverNode[]): number {
  let x = Number.MAX_SAFE_INTEGER;
  for (const n of nodes) {
    x = Math.min(x, n.durable.hardState().commit, n.durable.lastIndex());
    if (n.core !== null) x = Math.min(x, n.core.appliedIndex);
  }
  return x;
}

/** The index node `n` compacts to this round (compacting only when it is above its first index). */
export function compactionTarget(n: DriverNode, common: number, own: boolean): number {
  let to = common;
  if (own) {
    to = Math.min(n.durable.hardState().commit, n.durable.lastIndex());
    if (n.core !== null) to = Math.min(to, n.core.appliedIndex);
  } else if (n.core !== null && n.core.role === 'leader') {
    for (const p of Object.values(n.core.status().progress)) to = Math.min(to, p.verifying ? 0 : p.match);
  }
  return to;
}

/** The compaction events: rounds at random moments, drawn from their own generator. */
export class SimCompaction {
  readonly #rng: Rng;
  /** The seed's probability of an "own" round. */
  readonly #own: number;
  /** The highest first index any node compacted to. */
  compactedTo = 0;

  constructor(rng: Rng, own: number) {
    this.#rng = rng;
    this.#own = own;
  }

  /** Virtual time of the first round, ms. */
  firstAtMs(): number {
    return 20 + Math.floor(this.#rng() * 200);
  }

  /** One round; with `keepConf` (membership changes) a node persists the configuration at its new log start and a down node is left alone. Returns the delay to the next round, ms. */
  round(nodes: readonly SimNode[], keepConf: boolean, trace: (line: string) => void): number {
    const own = this.#rng() < this.#own;
    const x = commonCompactionPoint(nodes);
    for (const n of nodes) {
      const to = compactionTarget(n, x, own);
      if (to > n.durable.firstIndex()) {
        if (keepConf) {
          if (n.core === null) continue;
          n.savedConf = confAt(n.core, to - 1);
        }
        n.compact(to);
        if (to > this.compactedTo) this.compactedTo = to;
        trace(`${n.id} compacted: first=${to}`);
      }
    }
    return 10 + Math.floor(this.#rng() * 300);
  }
}
