/** Helpers for tests that damage a log's files in place. */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The file of the segment starting at byte offset `base` in log directory `dir` (docs/FORMAT.md). */
export const segmentPath = (dir: string, base: number): string => join(dir, 'log', String(base).padStart(20, '0'));

/** Flip bit `bit` of the byte at `offset` of `path`. */
export function flipBit(path: string, offset: number, bit: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0]! ^= 1 << bit;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}
