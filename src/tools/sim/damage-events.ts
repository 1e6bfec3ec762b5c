/**
 * Simulated log damage and repair (issue 16; docs/RAFT.md "Damaged replicas"), opt-in with
 * SimOptions.damage so that pinned seeds replay unchanged without it.
 *
 * A damage event marks a running follower's log damaged from a random committed index D
 * (RaftCore.damage.set(D)); a repair event for the same incarnation clears it, as the
 * replica does once every record is written back. A restart starts a fresh core (the
 * replica sets the guard again only if storage still lists damage; here the restart stands
 * for a start-up repair). Healing clears all damage so that liveness is judged on repaired
 * replicas. Leaders are damaged too: the core must step down at its next Ready (damage.ts
 * stepDownDamaged). At every damage and repair event (tens to hundreds of virtual ms apart)
 * no damaged replica may be leader. The simulator's invariants run after every event as usual.
 */
import type { RaftCore, Rng } from '../../raft/index.js';
import { Violation } from './invariants.js';

export interface DamageTarget {
  readonly id: string;
  readonly up: boolean;
  readonly incarnation: number;
  readonly core: RaftCore | null;
}

export class SimDamage {
  readonly #rng: Rng;
  damaged = 0;
  repaired = 0;
  /** Damage events that hit the leader. */
  damagedLeaders = 0;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /** Damage one follower; returns the repair to schedule (node, incarnation, delay), or undefined. */
  damage(nodes: readonly DamageTarget[], trace: (line: string) => void): { node: number; inc: number; afterMs: number } | undefined {
    this.check(nodes);
    const candidates = nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.up && n.core !== null && n.core.commitIndex >= n.core.firstIndex && !n.core.damage.damaged);
    if (candidates.length === 0) return undefined;
    const { n, i } = candidates[Math.floor(this.#rng() * candidates.length)]!;
    const core = n.core!;
    const d = core.firstIndex + Math.floor(this.#rng() * (core.commitIndex - core.firstIndex + 1));
    core.damage.set(d);
    this.damaged++;
    if (core.role === 'leader') this.damagedLeaders++;
    trace(`DAMAGE ${n.id}${core.role === 'leader' ? ' (leader)' : ''} from index ${d}`);
    return { node: i, inc: n.incarnation, afterMs: 20 + Math.floor(this.#rng() * 400) };
  }

  repair(node: DamageTarget, inc: number, trace: (line: string) => void): void {
    if (!node.up || node.incarnation !== inc || node.core === null || !node.core.damage.damaged) return;
    node.core.damage.set(undefined);
    this.repaired++;
    trace(`REPAIR ${node.id}`);
  }

  /** A replica with unrepaired damage is never leader once it has handled a Ready (it steps down at once). */
  check(nodes: readonly DamageTarget[]): void {
    for (const n of nodes) {
      if (n.up && n.core !== null && n.core.damage.damaged && n.core.role === 'leader') {
        throw new Violation(`damaged leader: ${n.id} is leader of term ${n.core.term} with unrepaired damage from index ${n.core.damage.fromIndex}`);
      }
    }
  }

  healAll(nodes: readonly DamageTarget[]): void {
    for (const n of nodes) if (n.core !== null && n.core.damage.damaged) n.core.damage.set(undefined);
  }
}
