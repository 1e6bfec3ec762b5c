/**
 * The verdict over a history of client operations and the final logs of every replica.
 *
 * Rules (each violation names its rule):
 *  - divergent:        two replicas that both consider index i committed (i <= their commit
 *                      index) hold different bytes (term, pos, type or payload) there.
 *  - missing-committed: some replica's commit index covers i but no replica holds i.
 *  - lost:             an acknowledged append is not in the committed log at all.
 *  - moved:            an acknowledged append is committed, but not at the index/pos it was
 *                      acknowledged with.
 *  - changed:          the entry at an acknowledged index has the acknowledged id but other bytes.
 *  - duplicate:        an id appears more than once in the committed log (unless the op was
 *                      marked `retried`: the client may then have committed it twice; those
 *                      copies are counted as clientRetryDuplicates).
 *  - phantom:          a committed normal entry that no operation appended (foreign bytes, or
 *                      an id this run never issued).
 *  - failed-committed: an append the server said would never commit (or that never left the
 *                      client) is in the committed log.
 *  - reordered:        append A was acknowledged before append B was invoked, yet B's index
 *                      (acknowledged, or where an unknown-outcome B was found) is not greater.
 *  - bad-read:         a read returned an entry that is not the committed entry at that index
 *                      (memory mode: unless a later power loss took that entry away, below).
 *
 * Memory mode: entries acknowledged but flushed on fewer than a quorum when the whole
 * cluster lost power may be lost. `powerLosses` lists such events: at `atMs` (history
 * time) the quorum-durable position was `durablePos` (the quorum-th largest fsynced byte
 * position over the replicas). An append acknowledged before atMs whose record ends
 * past durablePos may be lost (counted as allowedLoss, excluded from the order rule);
 * anything else must survive.
 */
import type { AppendOp, Op, ReadOp } from './history.js';
import type { EntryTypeName } from '../../entry.js';

export interface ReplicaEntry {
  index: number;
  term: number;
  pos: number;
  type: EntryTypeName;
  size: number;
  crc: number;
  /** The run's sequence number in the payload, undefined for foreign bytes (normal entries). */
  seq: number | undefined;
}

export interface ReplicaLog {
  id: string;
  /** Commit index the replica recorded (meta), or from its last status. */
  commitIndex: number;
  entries: ReplicaEntry[];
}

export interface PowerLoss {
  atMs: number;
  durablePos: number;
}

export interface CheckOptions {
  powerLosses?: PowerLoss[];
  /** Violations listed per rule (the counts are always complete). Default 20. */
  maxListed?: number;
  /**
   * The history was recorded through the retrying client with exactly-once appends on
   * (issue 14): a retried op committed more than once is then a 'duplicate' violation, not
   * a counted client-retry duplicate. Default false (at-least-once: counted, not failed).
   */
  idempotent?: boolean;
}

export type Rule = 'divergent' | 'missing-committed' | 'lost' | 'moved' | 'changed' | 'duplicate' | 'phantom' | 'failed-committed' | 'reordered' | 'bad-read';

export interface Violation {
  rule: Rule;
  message: string;
  seq?: number;
  index?: number;
}

export interface CheckStats {
  appends: number;
  acknowledged: number;
  failed: number;
  unknown: number;
  unknownCommitted: number;
  reads: number;
  readsOk: number;
  committed: number;
  committedNormal: number;
  lost: number;
  duplicated: number;
  reordered: number;
  allowedLoss: number;
  clientRetryDuplicates: number;
}

export interface Verdict {
  ok: boolean;
  violations: Violation[];
  counts: Record<Rule, number>;
  stats: CheckStats;
}

const RULES: Rule[] = ['divergent', 'missing-committed', 'lost', 'moved', 'changed', 'duplicate', 'phantom', 'failed-committed', 'reordered', 'bad-read'];

function sameEntry(a: ReplicaEntry, b: ReplicaEntry): boolean {
  return a.index === b.index && a.term === b.term && a.pos === b.pos && a.type === b.type && a.size === b.size && a.crc === b.crc;
}

export function check(ops: readonly Op[], replicas: readonly ReplicaLog[], options: CheckOptions = {}): Verdict {
  const maxListed = options.maxListed ?? 20;
  const counts = Object.fromEntries(RULES.map((r) => [r, 0])) as Record<Rule, number>;
  const violations: Violation[] = [];
  const report = (v: Violation): void => {
    counts[v.rule]++;
    if (counts[v.rule] <= maxListed) violations.push(v);
  };

  // 1. The committed log: entry i from a replica whose commit index covers i.
  const committed = new Map<number, ReplicaEntry>();
  let maxCommit = 0;
  for (const r of replicas) maxCommit = Math.max(maxCommit, r.commitIndex);
  const byIndex = replicas.map((r) => {
    const m = new Map<number, ReplicaEntry>();
    for (const e of r.entries) m.set(e.index, e);
    return m;
  });
  for (let ri = 0; ri < replicas.length; ri++) {
    const r = replicas[ri]!;
    for (const e of r.entries) {
      if (e.index > r.commitIndex) continue;
      const ref = committed.get(e.index);
      if (ref === undefined) committed.set(e.index, e);
      else if (!sameEntry(ref, e)) {
        report({ rule: 'divergent', index: e.index, message: `index ${e.index}: replica ${r.id} holds term ${e.term} pos ${e.pos} crc ${e.crc}, another committed copy has term ${ref.term} pos ${ref.pos} crc ${ref.crc}` });
      }
    }
  }
  // Committed indexes nobody holds. A replica may legitimately lack a prefix (retention)
  // or have repaired (truncated) its tail; only indexes no replica holds are missing.
  let firstHeld = Number.POSITIVE_INFINITY;
  for (const r of replicas) if (r.entries.length > 0) firstHeld = Math.min(firstHeld, r.entries[0]!.index);
  for (let i = Math.min(firstHeld, maxCommit + 1); i <= maxCommit; i++) {
    if (committed.has(i)) continue;
    // Held by someone whose own commit index is lower: take it if the copies agree.
    const copies = byIndex.map((m) => m.get(i)).filter((e): e is ReplicaEntry => e !== undefined);
    if (copies.length > 0 && copies.every((c) => sameEntry(c, copies[0]!))) {
      committed.set(i, copies[0]!);
      continue;
    }
    report({ rule: 'missing-committed', index: i, message: `index ${i} is within a commit index (${maxCommit}) but ${copies.length === 0 ? 'no replica holds it' : 'the replicas holding it disagree'}` });
  }

  // 2. Where each id was committed.
  const places = new Map<number, ReplicaEntry[]>();
  let committedNormal = 0;
  for (const e of committed.values()) {
    if (e.type !== 'normal') continue;
    committedNormal++;
    if (e.seq === undefined) {
      report({ rule: 'phantom', index: e.index, message: `index ${e.index}: a committed entry whose payload is not from this run` });
      continue;
    }
    const list = places.get(e.seq);
    if (list === undefined) places.set(e.seq, [e]);
    else list.push(e);
  }

  const appends = ops.filter((o): o is AppendOp => o.kind === 'append');
  const reads = ops.filter((o): o is ReadOp => o.kind === 'read');
  const bySeq = new Map<number, AppendOp>();
  for (const a of appends) bySeq.set(a.seq, a);
  for (const [seq, list] of places) {
    if (!bySeq.has(seq)) for (const e of list) report({ rule: 'phantom', seq, index: e.index, message: `index ${e.index}: id ${seq} was never appended` });
  }

  const mayBeLost = (a: AppendOp): boolean => {
    if (a.completeMs === undefined || a.pos === undefined) return false;
    const end = a.pos + 48 + a.size;
    return (options.powerLosses ?? []).some((p) => a.completeMs! <= p.atMs && end > p.durablePos);
  };

  const stats: CheckStats = {
    appends: appends.length,
    acknowledged: 0,
    failed: 0,
    unknown: 0,
    unknownCommitted: 0,
    reads: reads.length,
    readsOk: 0,
    committed: committed.size,
    committedNormal,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    allowedLoss: 0,
    clientRetryDuplicates: 0,
  };

  // 3. Every append against the committed log.
  /** Index at which each append is known to sit (acknowledged, or found for unknown ones). */
  const ordered: Array<{ op: AppendOp; index: number }> = [];
  for (const a of appends) {
    const found = places.get(a.seq) ?? [];
    if (found.length > 1) {
      if (a.retried === true && options.idempotent !== true) stats.clientRetryDuplicates += found.length - 1;
      else {
        stats.duplicated++;
        report({ rule: 'duplicate', seq: a.seq, message: `id ${a.seq} (${a.outcome}) is committed ${found.length} times, at indexes ${found.map((e) => e.index).join(', ')}` });
      }
    }
    if (a.outcome === 'ok') {
      stats.acknowledged++;
      const at = a.index === undefined ? undefined : committed.get(a.index);
      const mine = found.find((e) => e.index === a.index);
      if (mine === undefined) {
        if (mayBeLost(a)) {
          stats.allowedLoss++;
          continue;
        }
        if (found.length === 0) {
          stats.lost++;
          report({ rule: 'lost', seq: a.seq, index: a.index, message: `id ${a.seq} acknowledged at index ${a.index} pos ${a.pos} is not in the committed log${at !== undefined ? ` (index ${a.index} holds ${at.type === 'normal' ? `id ${at.seq}` : `a ${at.type} entry`})` : ''}` });
        } else {
          report({ rule: 'moved', seq: a.seq, index: a.index, message: `id ${a.seq} acknowledged at index ${a.index} is committed at index ${found.map((e) => e.index).join(', ')}` });
        }
        continue;
      }
      if (mine.pos !== a.pos || mine.size !== a.size || mine.crc !== a.crc) {
        report({ rule: mine.pos !== a.pos ? 'moved' : 'changed', seq: a.seq, index: a.index, message: `id ${a.seq} at index ${a.index}: acknowledged pos ${a.pos} size ${a.size} crc ${a.crc}, committed pos ${mine.pos} size ${mine.size} crc ${mine.crc}` });
        continue;
      }
      ordered.push({ op: a, index: mine.index });
    } else if (a.outcome === 'failed') {
      stats.failed++;
      if (found.length > 0) {
        report({ rule: 'failed-committed', seq: a.seq, index: found[0]!.index, message: `id ${a.seq} failed definitely (${a.error ?? 'no reason'}) but is committed at index ${found[0]!.index}` });
      }
    } else {
      stats.unknown++;
      if (found.length > 0) {
        stats.unknownCommitted++;
        // An unknown op has no completion time: it only takes part as the later op.
        ordered.push({ op: a, index: found[0]!.index });
      }
    }
  }

  // 4. Real-time order: acknowledged before invoked => smaller index.
  const byInvoke = [...ordered].sort((x, y) => x.op.invokeMs - y.op.invokeMs);
  const byComplete = ordered.filter((x) => x.op.outcome === 'ok').sort((x, y) => x.op.completeMs! - y.op.completeMs!);
  let k = 0;
  let maxIndex = 0;
  let maxSeq = 0;
  for (const b of byInvoke) {
    while (k < byComplete.length && byComplete[k]!.op.completeMs! < b.op.invokeMs) {
      if (byComplete[k]!.index > maxIndex) {
        maxIndex = byComplete[k]!.index;
        maxSeq = byComplete[k]!.op.seq;
      }
      k++;
    }
    if (maxIndex >= b.index) {
      stats.reordered++;
      report({ rule: 'reordered', seq: b.op.seq, index: b.index, message: `id ${b.op.seq} invoked at ${b.op.invokeMs.toFixed(1)} ms sits at index ${b.index}, but id ${maxSeq} was acknowledged earlier at index ${maxIndex}` });
    }
  }

  // 5. Reads return committed entries only.
  for (const r of reads) {
    if (r.outcome !== 'ok') continue;
    stats.readsOk++;
    if (r.result === null || r.result === undefined) continue;
    const e = committed.get(r.index);
    const res = r.result;
    // Memory mode: a read of an entry that a later whole-cluster power loss took away.
    if ((options.powerLosses ?? []).some((p) => r.completeMs !== undefined && r.completeMs <= p.atMs && res.pos + 48 + res.size > p.durablePos)) continue;
    if (e === undefined || e.pos !== r.result.pos || e.term !== r.result.term || e.crc !== r.result.crc || e.size !== r.result.size) {
      report({ rule: 'bad-read', index: r.index, message: `read of index ${r.index} returned term ${r.result.term} pos ${r.result.pos} id ${r.result.seq}, the committed entry is ${e === undefined ? 'absent' : `term ${e.term} pos ${e.pos} id ${e.seq}`}` });
    }
  }

  return { ok: violations.length === 0 && RULES.every((r) => counts[r] === 0), violations, counts, stats };
}

export function formatVerdict(v: Verdict): string {
  const lines: string[] = [];
  const s = v.stats;
  lines.push(
    `appends ${s.appends}: acknowledged ${s.acknowledged}, failed ${s.failed}, unknown ${s.unknown} (${s.unknownCommitted} committed); reads ${s.reads} (${s.readsOk} ok); committed entries ${s.committed} (${s.committedNormal} normal)`,
  );
  lines.push(
    `lost ${s.lost}, duplicated ${s.duplicated}, reordered ${s.reordered}${s.allowedLoss > 0 ? `, lost within the memory-mode window ${s.allowedLoss}` : ''}${s.clientRetryDuplicates > 0 ? `, client-retry duplicates ${s.clientRetryDuplicates}` : ''}`,
  );
  if (v.ok) lines.push('VERDICT: OK (no violation)');
  else {
    lines.push(`VERDICT: VIOLATIONS: ${RULES.filter((r) => v.counts[r] > 0).map((r) => `${r} ${v.counts[r]}`).join(', ')}`);
    for (const x of v.violations) lines.push(`  [${x.rule}] ${x.message}`);
  }
  return lines.join('\n');
}
