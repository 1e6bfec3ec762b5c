/**
 * A directory a command will write into (`cluster --dir`, `bench --dir`): created if
 * missing, and checked by creating and removing a probe file, so that a file in its place
 * or a directory this process cannot write is a one-line CommandError naming the path
 * (exit 2) before any server starts, instead of a failure inside a server.
 */
import { mkdirSync, openSync, closeSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CommandError } from './args.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a path component is not a directory',
  EEXIST: 'a file of that name exists',
  ENOSPC: 'no space left on device',
};

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined ? `${REASONS[code] ?? (error as Error).message} (${code})` : (error as Error).message;
}

/** `path` resolved, created if missing, and shown to be a writable directory. */
export function writableDir(path: string, flag: string): string {
  const dir = resolve(path);
  let isDir: boolean | undefined;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = undefined; // missing (or unreadable): mkdir says which
  }
  if (isDir === false) throw new CommandError(`${flag} ${dir} is not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new CommandError(`${flag} ${dir} cannot be created: ${reason(error)}`);
  }
  const probe = join(dir, `.raftledger-write-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (error) {
    throw new CommandError(`${flag} ${dir} is not writable: ${reason(error)}`);
  }
  return dir;
}
