/** Read a replica's final log (read-only) into the checker's form. */
import { RecordType, SegmentedLog } from '../../storage/index.js';
import { entryTypeName } from '../../entry.js';
import { entryTypeOf } from '../../transport/entry-types.js';
import { crc32c } from '../../storage/crc32c.js';
import type { ReplicaLog } from './checker.js';
import { seqOf } from './history.js';

/**
 * `knownCommit`: a commit index the replica reported (status) before it stopped; the meta
 * file's commit index is saved lazily and may lag behind it.
 */
export async function readReplicaLog(id: string, dir: string, runId: Buffer, knownCommit = 0): Promise<ReplicaLog> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    const entries: ReplicaLog['entries'] = [];
    for (const e of log.entries()) {
      entries.push({ index: e.index, term: e.term, pos: e.pos, type: entryTypeName(entryTypeOf(e.type)), size: e.data.byteLength, crc: crc32c(e.data), seq: e.type === RecordType.Normal ? seqOf(runId, e.data) : undefined });
    }
    return { id, commitIndex: Math.min(Math.max(log.meta.hardState.commitIndex, knownCommit), log.lastIndex), entries };
  } finally {
    await log.close();
  }
}
