/** The simulator's options and result (simulator.ts re-exports them). */

export interface SimOptions {
  seed: number;
  /** Cluster size, 3 or 5 (default 3). */
  nodes?: number;
  /** Length of the fault phase in virtual ms (default 3000). */
  faultMs?: number;
  /** Budget after healing for electing a leader and committing a new proposal (default 5000 ms). */
  livenessMs?: number;
  /** Collect a readable trace of every event. */
  trace?: boolean;
  /** Called with each trace line as it is produced (implies trace). */
  onTrace?: (line: string) => void;
  /** Membership changes in the schedule, with one spare node (membership.ts). Default false. */
  membership?: boolean;
  /** Check full pairwise log matching every this many events (default 64). */
  fullCheckEvery?: number;
  /** Inject log damage and repair events on followers (damage-events.ts; default false, so pinned seeds replay unchanged). */
  damage?: boolean;
}

export interface SimResult {
  seed: number;
  nodes: number;
  ok: boolean;
  /** The violated invariant, if any. */
  violation?: string;
  /** Virtual time at the end (ms). */
  timeMs: number;
  events: number;
  proposed: number;
  refused: number;
  acked: number;
  committed: number;
  elections: number;
  crashes: number;
  transfers: number;
  /** Membership changes proposed (and accepted by the leader). */
  confChanges: number;
  /** Followers reset to a leader's log start (docs/RAFT.md, "Log start"). */
  resets: number;
  trace: string[];
}
