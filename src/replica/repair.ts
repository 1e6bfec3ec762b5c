/**
 * Repair of damaged records from peers (issue 16), replica level, outside the Raft core.
 *
 * The exchange: the damaged replica asks a peer for indexes [fromIndex, toIndex] and says
 * what it expects of each (term and pos, from its index slots); the peer answers with its
 * verbatim records of those indexes that it holds intact and that match the expectation
 * (serveRepair). Replicas are byte-identical, so a matching record is the same bytes the
 * damaged replica once held; the damaged replica checks CRC, index, term, pos, size and the
 * slot's CRC again on arrival (SegmentedLog.writeBackRecord) before writing it back.
 *
 * Peers are asked in the given order, each for the records still damaged. What no peer
 * supplies leaves the replica out of service: repairFromPeers throws ERR_LOG_CORRUPT naming
 * every index still damaged and every replica asked (and what each one answered). Nothing is
 * truncated or dropped here, so the good entries after the damage are kept.
 */
import { RaftLedgerError, isRaftLedgerError } from '../errors.js';
import type { DamagedRecord, SegmentedLog } from '../storage/index.js';

export interface RepairWant {
  index: number;
  term: number;
  pos: number;
}

export interface RepairRequest {
  /** Inclusive; at most MAX_REPAIR_SPAN indexes. */
  fromIndex: number;
  toIndex: number;
  /** The expectation of each index the asker wants (a subset of [fromIndex, toIndex]). */
  want: readonly RepairWant[];
}

export interface RepairRecord {
  index: number;
  term: number;
  pos: number;
  /** The verbatim on-disk record (header and payload). */
  record: Uint8Array;
}

/** One peer that can answer repair requests (over the transport, or in-process in tests). */
export interface RepairSource {
  id: string;
  fetch(request: RepairRequest): Promise<readonly RepairRecord[]>;
}

export const MAX_REPAIR_SPAN = 1024;

export interface RepairOutcome {
  repaired: number;
  bytesFetched: number;
  /** Which peer supplied each repaired index. */
  from: Map<number, string>;
}

/**
 * The peer side: the verbatim records of `request.want` that this log holds intact with the
 * expected term and pos. Damaged, compacted or missing indexes and mismatches are left out
 * (the asker tries the next peer). Throws RangeError on a malformed request.
 */
export function serveRepair(log: SegmentedLog, request: RepairRequest): RepairRecord[] {
  const { fromIndex, toIndex, want } = request;
  if (!Number.isSafeInteger(fromIndex) || !Number.isSafeInteger(toIndex) || fromIndex < 1 || toIndex < fromIndex || toIndex - fromIndex >= MAX_REPAIR_SPAN) {
    throw new RangeError(`repair request [${fromIndex}, ${toIndex}] must be 1 <= from <= to with at most ${MAX_REPAIR_SPAN} indexes`);
  }
  const out: RepairRecord[] = [];
  for (const w of want) {
    if (w.index < fromIndex || w.index > toIndex) throw new RangeError(`repair request wants index ${w.index} outside [${fromIndex}, ${toIndex}]`);
    try {
      const entry = log.read(w.index);
      if (entry.term !== w.term || entry.pos !== w.pos) continue;
      out.push({ index: w.index, term: entry.term, pos: entry.pos, record: entry.record });
    } catch (error) {
      if (isRaftLedgerError(error)) continue; // damaged, compacted, out of range here: not ours to give
      throw error;
    }
  }
  return out;
}

/** Chunks of contiguous-enough damaged records, each within MAX_REPAIR_SPAN indexes. */
function requestsFor(damaged: readonly DamagedRecord[]): RepairRequest[] {
  const out: RepairRequest[] = [];
  let cur: { fromIndex: number; toIndex: number; want: RepairWant[] } | undefined;
  for (const d of damaged) {
    if (d.pos < 0) continue; // no index slot: no expectation to check a copy against
    if (cur === undefined || d.index - cur.fromIndex >= MAX_REPAIR_SPAN) {
      cur = { fromIndex: d.index, toIndex: d.index, want: [] };
      out.push(cur);
    }
    cur.toIndex = d.index;
    cur.want.push({ index: d.index, term: d.term, pos: d.pos });
  }
  return out;
}

/**
 * Repair every damaged record `log` lists (SegmentedLog.findDamage first) from `peers`, in
 * order. Resolves when none is left; throws ERR_LOG_CORRUPT naming the indexes no peer could
 * supply and the replicas asked, leaving those indexes listed as damaged.
 */
export async function repairFromPeers(log: SegmentedLog, peers: readonly RepairSource[], onLog: (line: string) => void = () => {}): Promise<RepairOutcome> {
  const outcome: RepairOutcome = { repaired: 0, bytesFetched: 0, from: new Map() };
  const answers = new Map<string, string>();
  for (const peer of peers) {
    if (log.damaged.length === 0) break;
    let supplied = 0;
    let refused = 0;
    try {
      for (const request of requestsFor(log.damaged)) {
        const records = await peer.fetch(request);
        for (const r of records) {
          if (!log.damaged.some((d) => d.index === r.index)) continue;
          outcome.bytesFetched += r.record.byteLength;
          try {
            await log.writeBackRecord(r.index, r.record);
          } catch (error) {
            if (isRaftLedgerError(error) && error.code === 'ERR_LOG_CORRUPT') {
              refused++;
              onLog(`repair: refused ${peer.id}'s copy of index ${r.index}: ${error.message}`);
              continue;
            }
            throw error;
          }
          supplied++;
          outcome.repaired++;
          outcome.from.set(r.index, peer.id);
          onLog(`repair: index ${r.index} (term ${r.term}, pos ${r.pos}) repaired in place from ${peer.id}`);
        }
      }
      answers.set(peer.id, `supplied ${supplied}${refused > 0 ? `, ${refused} refused (did not verify)` : ''}`);
    } catch (error) {
      if (!isRaftLedgerError(error) && !(error instanceof Error)) throw error;
      answers.set(peer.id, `failed: ${(error as Error).message}`);
    }
  }
  const left = log.damaged;
  if (left.length > 0) {
    const asked = peers.length === 0 ? 'no replica was asked (none reachable)' : `asked ${[...answers].map(([id, a]) => `${id} (${a})`).join(', ')}`;
    const list = left.map((d) => `${d.index} (term ${d.term}, pos ${d.pos}: ${d.reason})`).join(', ');
    throw new RaftLedgerError(
      'ERR_LOG_CORRUPT',
      `the replica stays out of service: no peer could supply damaged ${left.length === 1 ? 'index' : 'indexes'} ${list}; ${asked}. Nothing was cut; run the server with --repair only as the last resort (it truncates at the damage and is safe only while a majority of the other replicas hold those entries)`,
      { path: left[0]!.path, offset: left[0]!.offset },
    );
  }
  return outcome;
}
