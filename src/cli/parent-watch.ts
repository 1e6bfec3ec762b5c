/**
 * A raftledger process started by another with an IPC channel (LocalCluster starts its
 * servers so: stdio [..., 'ipc']) exits when that channel closes, i.e. when the parent
 * exits or dies, even by SIGKILL. It stops as on SIGTERM (the command's own graceful path:
 * a server flushes and closes its logs), and hard-exits if that has not finished in
 * FORCE_EXIT_MS. A process started by hand has no channel and is not affected.
 */

const FORCE_EXIT_MS = 30_000;

export function exitWithParent(): void {
  const channel = process.channel;
  if (channel === undefined || channel === null) return;
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
