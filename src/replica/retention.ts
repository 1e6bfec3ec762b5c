/**
 * Retention of one replica's log: which prefix may go, and when to look.
 *
 * Contract: retention removes whole segments, oldest first, and only entries below
 * keepFromIndex(), which is never above the commit index nor above what is durable on
 * this replica's disk; so an entry at or above the commit index is never removed, and
 * the term of the entry just before the new first index stays answerable (the log keeps
 * it in its metadata, SegmentedLog.truncatePrefix). The Raft core reads the first index
 * through LogStorage.firstIndex() on every use, so it sees the new first index at once.
 */
export interface RetentionPolicy {
  /** Drop old segments while the log is larger than this. */
  maxBytes?: number;
  /** Drop segments whose newest entry is older than this (segment age: docs/FORMAT.md). */
  maxAgeMs?: number;
  /** Always keep at least this many of the newest entries. */
  minEntries?: number;
  /**
   * On the leader: keep what a follower heard from within this window still needs (its
   * match + 1), so a follower that was briefly away is not sent to catch-up. Default
   * 60000 ms; 0 disables the hold.
   */
  holdForFollowersMs?: number;
  /** How often the policy is checked besides after each segment roll (default 2000 ms). */
  checkIntervalMs?: number;
}

export interface CheckedRetentionPolicy {
  maxBytes: number | undefined;
  maxAgeMs: number | undefined;
  minEntries: number;
  holdForFollowersMs: number;
  checkIntervalMs: number;
}

export const DEFAULT_HOLD_FOR_FOLLOWERS_MS = 60_000;
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 2000;

function optionalInteger(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`retention.${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Validate a policy; undefined when it cannot remove anything (no maxBytes and no maxAgeMs). */
export function checkRetentionPolicy(policy: RetentionPolicy | undefined): CheckedRetentionPolicy | undefined {
  if (policy === undefined) return undefined;
  if (policy === null || typeof policy !== 'object') throw new TypeError('retention must be an object { maxBytes?, maxAgeMs?, minEntries? }');
  const maxBytes = optionalInteger('maxBytes', policy.maxBytes, 0);
  const maxAgeMs = optionalInteger('maxAgeMs', policy.maxAgeMs, 0);
  const checked: CheckedRetentionPolicy = {
    maxBytes,
    maxAgeMs,
    minEntries: optionalInteger('minEntries', policy.minEntries, 0) ?? 0,
    holdForFollowersMs: optionalInteger('holdForFollowersMs', policy.holdForFollowersMs, 0) ?? DEFAULT_HOLD_FOR_FOLLOWERS_MS,
    checkIntervalMs: optionalInteger('checkIntervalMs', policy.checkIntervalMs, 1) ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS,
  };
  return maxBytes === undefined && maxAgeMs === undefined ? undefined : checked;
}

export interface RetentionBounds {
  commitIndex: number;
  /** Highest index durable on this replica's disk. */
  durableIndex: number;
  lastIndex: number;
  minEntries: number;
  /** match of each follower held for (leader only). */
  heldMatches: readonly number[];
}

/** The lowest index retention must keep: entries below it may be removed. */
export function keepFromIndex(b: RetentionBounds): number {
  let keep = Math.min(b.commitIndex, b.durableIndex);
  if (b.minEntries > 0) keep = Math.min(keep, b.lastIndex - b.minEntries + 1);
  for (const match of b.heldMatches) keep = Math.min(keep, match + 1);
  return Math.max(keep, 1);
}

/** When each follower was last seen active (leader side), for holdForFollowersMs. */
export class FollowerActivity {
  readonly #seenAtMs = new Map<string, number>();

  /** Record `progress` (the core's view) at `nowMs`; returns the matches still held. */
  held(progress: Iterable<[id: string, match: number, active: boolean]>, nowMs: number, holdMs: number): number[] {
    const out: number[] = [];
    if (holdMs <= 0) return out;
    for (const [id, match, active] of progress) {
      if (active) this.#seenAtMs.set(id, nowMs);
      const seen = this.#seenAtMs.get(id);
      if (seen !== undefined && nowMs - seen <= holdMs) out.push(match);
    }
    return out;
  }

  clear(): void {
    this.#seenAtMs.clear();
  }
}
