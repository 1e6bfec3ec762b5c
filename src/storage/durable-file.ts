import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromSystemError } from '../errors.js';
import { native } from './native.js';

/**
 * Replace the small file at `path` atomically and durably: write path.tmp, fsync it, rename
 * it over path, fsync the directory (on the addon's flusher thread). Once the promise
 * resolves, a crash leaves the new bytes; before, the old file or the new one, never a mix.
 * For replica files kept next to the log (the producer table file, docs/FORMAT.md).
 */
export async function writeFileDurably(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await native.atomicWriteFile(path, bytes);
  } catch (error) {
    throw fromSystemError(error, `cannot save ${path}`, path);
  }
}

/**
 * writeFileDurably on the calling thread, for the few small files saved where no await is
 * possible (the cluster uid and the stored configuration): the same steps, the same promise
 * once it returns. Errors are the node:fs ones, for the caller to wrap.
 */
export function writeFileDurablySync(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(fd, bytes, done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
