/**
 * The simulator's membership schedule (docs/RAFT.md, "Membership change"):
 * with SimOptions.membership, the cluster has one spare node besides its
 * bootstrap voters (a learner from the start), and the fault phase mixes in
 * single-server changes proposed on the leader: add a learner (a removed node
 * comes back), promote a learner, remove a learner or a voter (the leader
 * itself half of the time a voter goes). The number of voters stays within
 * [bootstrap - 1, bootstrap + 1] so a healed cluster can always make progress.
 *
 * Checks, after every event: a node's configuration differs from the one
 * before it by at most one voter; the committed configurations, in log order
 * as each node applies them, differ pairwise by at most one voter.
 */
import { decodeConfiguration, encodeConfiguration, isLearner, isVoter, voterDelta, type ConfChange, type Configuration } from '../../raft/conf-change.js';
import type { RaftCore } from '../../raft/raft.js';
import type { Rng } from '../../raft/prng.js';
import { EntryType, RaftRefusal, type Entry, type NodeId } from '../../raft/types.js';

/** What a driver persists when it compacts its log to start after `index` (committed): the configuration in force there. */
export function confAt(core: RaftCore, index: number): Uint8Array {
  return encodeConfiguration(core.membership.committedAt(index));
}

/** A change for `core` (a leader) to propose now, or null if none fits. */
export function pickConfChange(core: RaftCore, ids: readonly NodeId[], bootstrapVoters: number, r: Rng): ConfChange | null {
  const c = core.membership.current;
  const outside = ids.filter((id) => !isVoter(c, id) && !isLearner(c, id));
  const x = r();
  if (x < 0.3 && c.learners.length > 0 && c.voters.length < bootstrapVoters + 1) {
    return { type: 'promote', id: (c.learners[Math.floor(r() * c.learners.length)] as { id: NodeId }).id };
  }
  if (x < 0.6 && c.voters.length > bootstrapVoters - 1) {
    const id = r() < 0.5 ? core.id : (c.voters[Math.floor(r() * c.voters.length)] as { id: NodeId }).id;
    return { type: 'remove', id };
  }
  if (x < 0.85 && outside.length > 0) {
    const id = outside[Math.floor(r() * outside.length)] as NodeId;
    return { type: 'addLearner', id, address: `sim://${id}` };
  }
  if (c.learners.length > 0) return { type: 'remove', id: (c.learners[Math.floor(r() * c.learners.length)] as { id: NodeId }).id };
  return null;
}

/** Proposes a change on a leader; returns a trace line, or null if refused (a typed refusal is expected and counted). */
export function tryConfChange(core: RaftCore, cc: ConfChange): { line: string; refused: boolean } {
  try {
    const index = core.proposeConfChange(cc);
    return { line: `MEMBER ${core.id} proposes ${cc.type} ${cc.id} at ${index}`, refused: false };
  } catch (e) {
    if (!(e instanceof RaftRefusal)) throw e;
    return { line: `MEMBER ${core.id} refused ${cc.type} ${cc.id}: ${e.code}`, refused: true };
  }
}

/** The per-node checks; returns a violation message or undefined. */
export class MembershipChecks {
  /** The last committed configuration each node applied (null after a log reset or restart: nothing to compare with). */
  readonly #lastApplied = new Map<NodeId, Configuration | null>();

  /** The configuration in force on a node and the one before it differ by at most one voter. */
  inForce(core: RaftCore): string | undefined {
    const prev = core.membership.previous;
    if (prev !== null && voterDelta(prev, core.membership.current) > 1) {
      return `membership: ${core.id}'s configuration ${describe(core.membership.current)} differs from its predecessor ${describe(prev)} by more than one voter`;
    }
    return undefined;
  }

  /** Committed entries a node applies, in order. */
  applied(node: NodeId, ents: readonly Entry[]): string | undefined {
    for (const e of ents) {
      if (e.type !== EntryType.Config) continue;
      let conf: Configuration;
      try {
        conf = decodeConfiguration(e.data);
      } catch (err) {
        return `membership: committed Config entry ${e.index}/t${e.term} does not decode: ${(err as Error).message}`;
      }
      const prev = this.#lastApplied.get(node) ?? null;
      if (prev !== null && voterDelta(prev, conf) > 1) {
        return `membership: committed configuration ${describe(conf)} at ${e.index} differs from the previous committed ${describe(prev)} by more than one voter`;
      }
      this.#lastApplied.set(node, conf);
    }
    return undefined;
  }

  /** A node restarted or reset its log: its next applied configuration has no predecessor to compare with. */
  forget(node: NodeId): void {
    this.#lastApplied.set(node, null);
  }
}

function describe(c: Configuration): string {
  return `{voters ${c.voters.map((m) => m.id).join(',')}; learners ${c.learners.map((m) => m.id).join(',') || '-'}}`;
}
