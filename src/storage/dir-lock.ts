/**
 * Exclusive locks on data directories, so that one directory is served by one process (and,
 * within a process, by one open) at a time: `<dir>/LOCK`, flock(LOCK_EX|LOCK_NB)'ed through
 * the addon (native.lockFile) and holding the holder's pid for the error message.
 *
 * Who locks what (docs/FORMAT.md, "Directory lock"):
 *  - a server (ReplicaServer, LedgerHost) locks its node directory (--dir) for its life,
 *    before anything else touches it (startup check, repair, groups);
 *  - SegmentedLog.open, unless readOnly, locks the log's own directory (a group directory)
 *    until close(); Ledger.open and every writing CLI tool go through it. Read-only opens
 *    (inspect, verify, dump) take no lock and work beside a running server.
 *
 * Contracts: the lock is released by release() (idempotent), by the exit of the thread that
 * took it (worker threads), or by the kernel when the process dies (SIGKILL included), so a
 * stale LOCK file never blocks anyone. The file itself is never deleted (deleting a lock
 * file races with the next acquirer). flock locks belong to the open file description, so a
 * second acquire of the same directory in the same process fails like one from elsewhere.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../errors.js';
import { native } from './native.js';
import { IDENTITY_FILE } from './identity.js';

export const LOCK_FILE = 'LOCK';

/** ERR_DIR_LOCKED: `dir` is held by process `holderPid` (undefined when the LOCK file did not say). */
export class DirLockedError extends RaftLedgerError {
  readonly holderPid: number | undefined;

  constructor(dir: string, holderPid: number | undefined) {
    const holder =
      holderPid === undefined
        ? 'another open of it (holder pid unknown)'
        : holderPid === process.pid
          ? `another open of it in this process (pid ${holderPid})`
          : `another process (pid ${holderPid})`;
    super('ERR_DIR_LOCKED', `data directory ${dir} is locked by ${holder}; one directory is served by one process at a time`, { path: dir });
    this.holderPid = holderPid;
  }
}

export class DirLock {
  readonly dir: string;
  readonly path: string;
  #fd: number | undefined;

  private constructor(dir: string, path: string, fd: number) {
    this.dir = dir;
    this.path = path;
    this.#fd = fd;
  }

  /**
   * Lock `dir` (created, with its parents, when missing). Throws DirLockedError
   * (ERR_DIR_LOCKED) when it is held, ERR_ACCESS / ERR_IO when it cannot be locked at all.
   */
  static acquire(dir: string): DirLock {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('DirLock.acquire: dir must be a non-empty string');
    const path = join(dir, LOCK_FILE);
    let fd: number;
    try {
      mkdirSync(dir, { recursive: true });
      fd = native.lockFile(path, Buffer.from(`pid ${process.pid}\n`));
    } catch (error) {
      throw fromSystemError(error, `cannot lock data directory ${dir}`, path);
    }
    if (fd < 0) throw new DirLockedError(dir, holderPid(path));
    return new DirLock(dir, path, fd);
  }

  get held(): boolean {
    return this.#fd !== undefined;
  }

  /** Release the lock. Idempotent. */
  release(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    native.unlockFile(fd);
  }
}

function holderPid(path: string): number | undefined {
  try {
    const match = /^pid (\d+)$/m.exec(readFileSync(path, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Names a log directory holds besides its identity file (the rest of a directory without identity is foreign). */
export function isLogDirEntry(name: string): boolean {
  return name === 'log' || name === 'index' || name === LOCK_FILE || name.startsWith('.');
}

/**
 * The lock SegmentedLog.open takes on its directory: none for readOnly opens, and none when
 * the open is going to fail anyway without touching the directory (no log there and
 * `create: false`, or a non-empty directory that is not a log: SegmentedLog reports those),
 * so that no LOCK file is left behind in someone else's directory.
 */
export function lockLogDir(options: { dir: string; readOnly?: boolean; create?: boolean }): DirLock | undefined {
  if (options.readOnly === true) return undefined;
  const dir = options.dir;
  if (!existsSync(join(dir, IDENTITY_FILE))) {
    if (options.create === false) return undefined;
    try {
      if (existsSync(dir) && readdirSync(dir).some((name) => !isLogDirEntry(name))) return undefined;
    } catch {
      return undefined;
    }
  }
  return DirLock.acquire(dir);
}
