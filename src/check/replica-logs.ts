/** Read a replica's final log (read-only) into the checker's form. */
import { SegmentedLog } from '../storage/index.js';
import { crc32c } from '../storage/crc32c.js';
import type { ReplicaLog } from './checker.js';
import { seqOf } from './history.js';

export async function readReplicaLog(id: string, dir: string, runId: Buffer): Promise<ReplicaLog> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    const entries: ReplicaLog['entries'] = [];
    for (const e of log.entries()) {
      entries.push({ index: e.index, term: e.term, pos: e.pos, type: e.type, size: e.data.byteLength, crc: crc32c(e.data), seq: e.type === 1 ? seqOf(runId, e.data) : undefined });
    }
    return { id, commitIndex: Math.min(log.meta.hardState.commitIndex, log.lastIndex), entries };
  } finally {
    await log.close();
  }
}
