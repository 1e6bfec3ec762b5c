/**
 * The 'bitrot' fault (issue 16): flip bits in OLDER records of a replica's log (committed,
 * long before its last checkpoint), either while it runs (the server's background scrub,
 * --scrub-bytes-per-sec, must find and repair them) or while it is stopped (its start-up
 * repair must fetch them from its peers: it restarts with no flags). Nothing is ever cut,
 * so the checker finds every acknowledged entry.
 *
 * A running server maps its segments MAP_SHARED: bytes written through the file are what it
 * reads, exactly like a flip of the medium under the page cache being read back.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog } from '../../storage/index.js';
import type { Prng } from './prng.js';

/** Records this close to the end are left alone (they may not be committed yet). */
const RECENT_RECORDS = 100;

export interface BitrotResult {
  indexes: number[];
  text: string;
}

/** Flip one bit in each of 1-3 random older records of the log in `dir` (opened read-only: the server may be running). */
export async function flipOldBits(dir: string, rng: Prng): Promise<BitrotResult> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  const hits: Array<{ index: number; path: string; offset: number; bit: number }> = [];
  try {
    const hi = Math.min(log.lastIndex - RECENT_RECORDS, log.hardState.commitIndex - RECENT_RECORDS);
    if (hi < log.firstIndex) return { indexes: [], text: 'log too short: no old records to damage' };
    const n = rng.int(1, 3);
    const segSize = log.segmentSizeBytes;
    for (let k = 0; k < n; k++) {
      const index = rng.int(log.firstIndex, hi);
      if (hits.some((h) => h.index === index)) continue;
      const e = log.read(index);
      const pos = e.pos + rng.int(0, e.record.byteLength - 1);
      const base = pos - (pos % segSize);
      hits.push({ index, path: join(dir, 'log', String(base).padStart(20, '0')), offset: pos - base, bit: rng.int(0, 7) });
    }
  } finally {
    await log.close();
  }
  for (const h of hits) {
    const fd = openSync(h.path, 'r+');
    try {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, h.offset);
      b[0]! ^= 1 << h.bit;
      writeSync(fd, b, 0, 1, h.offset);
    } finally {
      closeSync(fd);
    }
  }
  const indexes = hits.map((h) => h.index).sort((a, b) => a - b);
  return { indexes, text: `flipped a bit in older record(s) ${indexes.join(', ')}` };
}
