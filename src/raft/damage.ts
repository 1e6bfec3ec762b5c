/**
 * What a replica with unrepaired damage may do in the Raft core (issue 16; docs/RAFT.md,
 * "Damaged replicas"). A pure policy: the core asks it at three points (vote grant,
 * campaign, the match index it acknowledges); the replica sets the damage from storage's
 * damaged-record list and clears it once every record is written back.
 *
 * Rules, for damage whose lowest unrepaired index is D:
 *  - no vote and no pre-vote grant: its log's last (index, term) still looks complete, but
 *    it cannot serve index D; counting it in an election quorum could elect a leader whose
 *    only evidence of entry D is a copy nobody can read. Refusing pre-votes too keeps a
 *    candidate from bumping its term on a pre-vote the real vote will then refuse.
 *  - no campaign, never leader: a leader must be able to send every committed entry. A
 *    leader that finds damage in its own log hands leadership to a caught-up voter (a
 *    TimeoutNow, if one is caught up) and steps down at once (stepDownDamaged), and until it
 *    has stepped down its own acknowledgement counts toward a commit only below D.
 *  - acknowledgements report at most D - 1: a commit quorum for an index >= D never counts
 *    this replica until it is repaired (appends after D are still written and kept, so the
 *    good entries after the damage are not lost; they are only not counted).
 *  - it still accepts appends and heartbeats from a leader (that is how it stays current),
 *    applies entries below D, and answers repair requests for the records it holds intact.
 */
export class DamageGuard {
  #fromIndex: number | undefined;

  /** The lowest unrepaired damaged index, or undefined when the log is intact. */
  get fromIndex(): number | undefined {
    return this.#fromIndex;
  }

  set(fromIndex: number | undefined): void {
    if (fromIndex !== undefined && (!Number.isSafeInteger(fromIndex) || fromIndex < 1)) {
      throw new RangeError(`damage fromIndex must be a positive integer, got ${String(fromIndex)}`);
    }
    this.#fromIndex = fromIndex;
  }

  get damaged(): boolean {
    return this.#fromIndex !== undefined;
  }

  /** Grant a vote or pre-vote only when intact (the ordinary rules still apply after). */
  mayGrantVote(): boolean {
    return this.#fromIndex === undefined;
  }

  mayCampaign(): boolean {
    return this.#fromIndex === undefined;
  }

  mayLead(): boolean {
    return this.#fromIndex === undefined;
  }

  /** The match index to acknowledge for a log that holds up to `matchIndex`. */
  reportedMatch(matchIndex: number): number {
    return this.#fromIndex === undefined ? matchIndex : Math.min(matchIndex, this.#fromIndex - 1);
  }
}

/**
 * A leader's check (RaftCore.hasReady): with unrepaired damage it sends TimeoutNow to a voter
 * whose match is the leader's last index (if any) and returns true: the caller becomes a
 * follower of the same term. The target may refuse (damaged itself): an election follows
 * after the election timeout, which this node does not join as a candidate.
 */
export function stepDownDamaged(
  guard: DamageGuard,
  repl: { readonly list: ReadonlyArray<{ readonly id: string; confirmedMatch(): number }> },
  lastIndex: number,
  voters: readonly string[],
  sendTimeoutNow: (to: string) => void,
): boolean {
  if (guard.mayLead()) return false;
  const target = repl.list.find((pr) => voters.includes(pr.id) && pr.confirmedMatch() === lastIndex);
  if (target !== undefined) sendTimeoutNow(target.id);
  return true;
}
