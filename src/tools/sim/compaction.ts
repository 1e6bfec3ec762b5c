/**
 * Where the simulator's nodes compact to. Usually every node drops its entries below X,
 * the highest index that every node (up or down) holds durably as committed and every
 * running node has applied, and a leader also stays at or below what each follower
 * confirmed; no follower then needs a compacted entry. In "own" rounds (the seed's
 * probability `compactOwn`) a node compacts up to what it alone holds durably as committed
 * and has applied (retention without regard for the others), so lagging, restarted and
 * crashed followers are caught up through a log start (docs/RAFT.md).
 */
import type { DriverNode } from './driver.js';

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
