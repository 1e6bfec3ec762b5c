/**
 * The simulator's side of log starts (docs/RAFT.md, "Log start"): the application
 * snapshot a simulated leader provides, and the checks of every follower reset.
 */
import type { LogReset } from '../../raft/types.js';
import type { DriverNode } from './driver.js';
import type { Invariants } from './invariants.js';

/** The simulated application snapshot of version v (the leader's applied index): v as a u64, then bytes derived from it. */
export function simSnapshot(version: number, size: number): Uint8Array {
  if (size === 0) return new Uint8Array(0);
  const out = Buffer.alloc(Math.max(size, 8));
  out.writeBigUInt64LE(BigInt(version), 0);
  for (let i = 8; i < out.length; i++) out[i] = (version * 31 + i * 7) & 0xff;
  return out;
}

/**
 * A follower's log was reset to a leader's log start. The boundary must be an
 * entry the cluster committed, with that term; the snapshot the one a leader
 * made (its version, the leader's applied index, at or after the boundary);
 * the position the one of entry index + 1 on every node holding it. Returns
 * the violation, if any.
 */
export function checkReset(node: DriverNode, r: LogReset, nodes: readonly DriverNode[], inv: Invariants, snapshotBytes: number): string | undefined {
  const at = r.at;
  if (at.index >= inv.committedKey.length) return `${node.id} reset after ${at.index}, past cluster commit ${inv.committedKey.length - 1}`;
  if (at.index > 0 && inv.committedTerm[at.index] !== at.term) {
    return `${node.id} reset after ${at.index}/t${at.term}, but the committed entry there has term ${inv.committedTerm[at.index]}`;
  }
  const snap = r.snapshot;
  if (snapshotBytes > 0) {
    const version = snap.byteLength >= 8 ? Number(Buffer.from(snap.buffer, snap.byteOffset, 8).readBigUInt64LE(0)) : -1;
    if (version < at.index || !Buffer.from(simSnapshot(version, snapshotBytes)).equals(Buffer.from(snap))) {
      return `${node.id} installed a damaged application snapshot (${snap.byteLength} bytes, version ${version}, boundary ${at.index})`;
    }
  } else if (snap.byteLength !== 0) {
    return `${node.id} installed ${snap.byteLength} snapshot bytes, none were provided`;
  }
  for (const n of nodes) {
    if (n === node) continue;
    const l = n.live;
    if (l.firstIndex() <= at.index + 1 && at.index + 1 <= l.lastIndex() && l.term(at.index) === at.term) {
      const p = l.posOf(at.index + 1);
      if (p !== at.pos) return `${node.id} reset with entry ${at.index + 1} at pos ${at.pos}, ${n.id} has it at ${p}`;
    }
  }
  return undefined;
}
