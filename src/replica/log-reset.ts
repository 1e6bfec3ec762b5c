/**
 * Follower: Ready.logReset (docs/RAFT.md, "Log start"). The application snapshot is
 * installed, the configuration the leader sent stored (membership.ts) and the storage
 * reset durable before anything else of this Ready is done (its messages carry the
 * acknowledgement of the reset) and before any later Ready is handled; inputs (messages,
 * ticks) still reach the core meanwhile.
 */
import type { LogReset } from '../raft/index.js';
import type { SegmentedLog } from '../storage/index.js';
import type { AppSnapshotCache } from './app-snapshot.js';

export interface LogResetDeps {
  id: string;
  log: SegmentedLog;
  snapshot: AppSnapshotCache | undefined;
  /** Store the configuration in force after the reset (before the log depends on it). */
  storeConfiguration(reset: LogReset): void;
  /** Entries up to the reset point go: their producers are folded and the producer table saved durably (idempotence.ts). */
  beforeReset?(reset: LogReset): Promise<void>;
  /** The storage is reset: positions and indexes the write path and the ledger keep move to the new start. */
  onReset(reset: LogReset): void;
  logLine(line: string): void;
}

export async function runLogReset(d: LogResetDeps, reset: LogReset): Promise<void> {
  // Install first: a crash between the two leaves the old log, so the follower asks for the
  // log start again and installs again (install is idempotent); the other order could leave
  // a reset log whose snapshot was never installed. The configuration is stored before the
  // reset for the same reason: its index (the reset point) makes it win only over older entries.
  if (d.snapshot !== undefined) await d.snapshot.install(reset.snapshot, reset.at);
  d.storeConfiguration(reset);
  await d.beforeReset?.(reset);
  await d.log.resetTo(reset.at);
  d.onReset(reset);
  d.logLine(`[${d.id}] log reset: starts after ${reset.at.index}/t${reset.at.term} at pos ${reset.at.pos} (snapshot ${reset.snapshot.byteLength} bytes)`);
}
