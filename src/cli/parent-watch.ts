/**
 * A raftledger process started by another with an IPC channel (LocalCluster starts its
 * servers so: stdio [..., 'ipc']) exits when that channel closes, i.e. when the parent
 * exits or dies, even by SIGKILL. It stops as on SIGTERM (the command's own graceful path:
 * a server flushes and closes its logs), and hard-exits if that has not finished in
 * FORCE_EXIT_MS. A process started by hand has no channel and is not affected.
 *
 * The parent may die before this process gets here (while it loads its modules): Node
 * then has already seen the channel close, and process.channel is null as for a process
 * started by hand. So the starter also names itself in PARENT_PID_ENV; a process that has
 * it but no open channel, or another parent, exits at once (it has started nothing yet).
 */

import { PARENT_PID_ENV } from '../tools/cluster/local-cluster.js';

const FORCE_EXIT_MS = 30_000;

export function exitWithParent(): void {
  const parentPid = process.env[PARENT_PID_ENV];
  delete process.env[PARENT_PID_ENV]; // for this process only, not for what it starts
  const channel = process.channel;
  const hasChannel = channel !== undefined && channel !== null;
  if (parentPid === undefined && !hasChannel) return; // started by hand
  if (!hasChannel || !process.connected || (parentPid !== undefined && String(process.ppid) !== parentPid)) {
    process.exit(1); // the parent is already gone (its pipes with it: nothing to print to)
  }
  // The channel must not keep the process alive once the command is done.
  channel.unref();
  process.once('disconnect', () => {
    // The parent held the other ends of stdout/stderr too: writes there may now fail.
    process.stdout.on('error', () => {});
    process.stderr.on('error', () => {});
    setTimeout(() => process.exit(1), FORCE_EXIT_MS).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}
