/**
 * The preferred leader (DLedger's preferredLeaderIds): an optional member of a group that
 * leadership moves back to when it is healthy and caught up, by a leadership transfer from
 * the current leader. Useful to spread the leaders of many groups over the nodes.
 *
 * Rule (checked by the leader at most every checkEveryMs): the preferred member is a voter
 * of the configuration in force, it answered within the last election timeout and is at
 * most maxLagEntries behind, at two checks in a row (so a member that just came back, or
 * keeps dropping out, is not handed the group at once); no transfer is in progress.
 */
import { isVoter, type RaftCore } from '../raft/index.js';

export const PREFERRED_LEADER_CHECK_MS = 1000;
const MAX_LAG_ENTRIES = 1000;

export class PreferredLeader {
  readonly #id: string;
  readonly #preferred: string | undefined;
  readonly #core: RaftCore;
  readonly #logLine: (line: string) => void;
  readonly #checkEveryMs: number;
  #lastCheckMs = 0;
  #healthyChecks = 0;

  constructor(id: string, preferred: string | undefined, core: RaftCore, logLine: (line: string) => void, checkEveryMs = PREFERRED_LEADER_CHECK_MS) {
    this.#id = id;
    this.#preferred = preferred;
    this.#core = core;
    this.#logLine = logLine;
    this.#checkEveryMs = checkEveryMs;
  }

  /** On the leader: transfer to the preferred member when the rule says so. */
  check(nowMs: number): void {
    const to = this.#preferred;
    const core = this.#core;
    if (to === undefined || to === this.#id || core.role !== 'leader') {
      this.#healthyChecks = 0;
      return;
    }
    if (nowMs - this.#lastCheckMs < this.#checkEveryMs || core.leadTransferee !== '') return;
    this.#lastCheckMs = nowMs;
    const p = core.status().progress[to];
    const healthy = isVoter(core.membership.current, to) && p !== undefined && p.recentActive && core.lastIndex - p.match <= MAX_LAG_ENTRIES;
    this.#healthyChecks = healthy ? this.#healthyChecks + 1 : 0;
    if (this.#healthyChecks < 2) return;
    this.#healthyChecks = 0;
    try {
      core.transferLeadership(to);
      this.#logLine(`[${this.#id}] preferred leader ${to} is healthy and caught up: transferring leadership to it`);
    } catch (error) {
      this.#logLine(`[${this.#id}] preferred leader ${to}: transfer not started: ${(error as Error).message}`);
    }
  }
}

/** The preferred leader of `group` from the option: one id for every group, or one per group. */
export function preferredLeaderOf(option: string | Readonly<Record<number, string>> | undefined, group: number): string | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'string') return option === '' ? undefined : option;
  if (typeof option !== 'object' || option === null) throw new TypeError('preferredLeader must be an id or { group: id }');
  return option[group];
}
