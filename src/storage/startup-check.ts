/**
 * The startup check of a replica's log (one Raft group), run before the replica may vote:
 * by `raftledger server` on the calling thread and by LedgerHost (startupCheck) as short
 * piscina tasks on its worker threads.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, isRaftLedgerError } from '../errors.js';
import { SegmentedLog, verifyLog, type DamagedRange } from './index.js';

const DAMAGE_KINDS = new Set(['record', 'gap', 'segment', 'missing']);

/**
 * The startup check of one group's log, before the replica may vote: recovery (a torn tail
 * is truncated; damage in the tail fails unless repairing) and then a full verification of
 * every record's CRC, so that damage before the last checkpoint (which recovery trusts) is
 * noticed too. Without `repair` any damage is ERR_LOG_CORRUPT; with it, the log is cut at
 * the first entry that does not read back intact.
 *
 * Self-healing (issue 16): without `repair`, damage that is only damaged records whose index
 * slots still say what they held (term, pos, size, CRC) is not refused here: the damaged
 * ranges are returned, and the replica repairs them from its peers before it serves
 * (replica/self-repair.ts). Anything else (no slot, a short or missing segment) is refused
 * as before.
 */
export async function checkLogAtStartup(dir: string, repair: boolean, log: (line: string) => void = () => {}): Promise<DamagedRange[] | undefined> {
  if (!existsSync(join(dir, 'raftledger.json'))) return undefined;
  const advice = 'the replica refuses to start with a damaged log; run the server with --repair to truncate it at the damage and re-fetch the rest from the leader';
  try {
    const opened = await SegmentedLog.open({ dir, truncateCorrupt: repair, onNotice: (m) => log(`storage: ${m}`) });
    await opened.close();
  } catch (error) {
    // Missing entries carry their own advice (completeness.ts); a lost hard state (ERR_HARD_STATE_LOST) has no --repair.
    if (isRaftLedgerError(error) && error.code === 'ERR_LOG_CORRUPT' && !repair && !error.message.includes('--repair')) {
      throw new RaftLedgerError('ERR_LOG_CORRUPT', `${error.message}; ${advice}`, { cause: error });
    }
    throw error;
  }
  const report = await verifyLog(dir);
  const damage = report.damage.filter((d) => DAMAGE_KINDS.has(d.kind));
  if (damage.length === 0) return undefined;
  const first = damage[0]!;
  // Entries verify calls missing at the end of the log (zeros up to the durable commit index)
  // are repairable too when recovery lists every one of them as damaged (log/recovery-damage.ts).
  const missingFrom = damage.filter((d) => d.kind === 'missing').map((d) => d.index);
  if (!repair && damage.every((d) => d.kind === 'record' || d.kind === 'gap' || (d.kind === 'missing' && d.index !== undefined))) {
    const ranges = await repairableDamage(dir, missingFrom as number[]);
    if (ranges !== undefined) {
      const list = ranges.map((r) => (r.fromIndex === r.toIndex ? `${r.fromIndex}` : `${r.fromIndex}-${r.toIndex}`)).join(', ');
      log(`damaged records at indexes ${list} (first: ${first.reason}, ${first.path} at offset ${first.offset}); they are repaired from peers before the replica serves`);
      return ranges;
    }
  }
  if (!repair) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${first.reason} (${first.path} at offset ${first.offset}${first.index !== undefined ? `, index ${first.index}` : ''}); ${advice}`);
  }
  const opened = await SegmentedLog.open({ dir, truncateCorrupt: true });
  try {
    // verify lists damage in log order and CRC-checked everything before the first one, so
    // when it knows that entry's index the cut goes there; otherwise find the first entry
    // that does not read back intact.
    let bad = opened.lastIndex + 1;
    if (first.index !== undefined) bad = Math.max(first.index, opened.firstIndex);
    else {
      for (let i = opened.firstIndex; i <= opened.lastIndex; i++) {
        try {
          opened.read(i);
        } catch {
          bad = i;
          break;
        }
      }
    }
    if (bad <= opened.lastIndex) {
      log(`repair: ${first.reason} (${first.path} at offset ${first.offset}); truncating the log from index ${bad} (had ${opened.firstIndex}..${opened.lastIndex}), the leader will send the rest`);
      await opened.truncateSuffix(bad);
      await opened.flush();
      // The cut may go below the commit index (damage before the checkpoint): lower it to
      // match, or the log would end below its durable commit index (missing entries).
      if (opened.meta.hardState.commitIndex > bad - 1) await opened.meta.save({ commitIndex: bad - 1 });
    }
  } finally {
    await opened.close();
  }
  const again = (await verifyLog(dir)).damage.filter((d) => DAMAGE_KINDS.has(d.kind));
  if (again.length > 0) throw new RaftLedgerError('ERR_LOG_CORRUPT', `repair did not remove the damage: ${again[0]!.reason} (${again[0]!.path} at offset ${again[0]!.offset})`);
  return undefined;
}

/**
 * The damaged ranges when every damaged record has an index slot to check a peer's copy
 * against, and every entry from each of `missingFrom` up to the durable commit index is one
 * of them; else undefined.
 */
async function repairableDamage(dir: string, missingFrom: readonly number[]): Promise<DamagedRange[] | undefined> {
  const opened = await SegmentedLog.open({ dir });
  try {
    const found = opened.findDamage();
    if (found.length === 0 || found.some((d) => d.pos < 0)) return undefined;
    const commitIndex = opened.meta.hardState.commitIndex;
    const listed = new Set(found.map((d) => d.index));
    for (const from of missingFrom) {
      if (opened.lastIndex < commitIndex) return undefined;
      for (let i = from; i <= commitIndex; i++) if (!listed.has(i)) return undefined;
    }
    return opened.damagedRanges();
  } finally {
    await opened.close();
  }
}
