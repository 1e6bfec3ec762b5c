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
