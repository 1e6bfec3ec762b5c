/**
 * A scripted scenario (etcd interaction-test style: one real Ledger, its peers played by
 * the test message by message) for the verdict of an append whose entry the proposer
 * lost to a truncation but another replica kept, and a later leader committed.
 *
 *   term 1: n0 leads, commits a no-op, appends X at index 2 (replicated to n1 only).
 *   term 2: n3 leads (votes of n2, n3, n4), overwrites index 2 on n0 with its no-op.
 *   term 3: n1 leads (votes of n1, n3, n4: its log with X is the most up to date),
 *           sends X back to n0 with its own no-op and commits both.
 * The client of n0 must hear that X committed at index 2, not "will never commit".
 */
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/replica/ledger.js';
import { SegmentedLog, RecordType } from '../../src/index.js';
import type { Entry, Message } from '../../src/raft/index.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs();
const SEG = 1024 * 1024;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !f(); i++) await settle();
  if (!f()) throw new Error(`timed out waiting for ${what}`);
}

/** Records of a log holding `entries` (index 1..n), built by a scratch log with n0's segment size. */
async function recordsOf(entries: Array<{ term: number; type: RecordType; data: Buffer }>): Promise<Array<Entry & { record: Uint8Array }>> {
  const log = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG });
  const result = log.appendEntries(entries);
  await log.close();
  return entries.map((e, i) => {
    const record = Buffer.from(result.records[i]!);
    return { index: i + 1, term: e.term, type: e.type as 1 | 2 | 3, data: record.subarray(48), record };
  });
}

describe('append verdicts follow the committed log, not local truncations', () => {
  it('an entry truncated on its proposer but committed by a later leader is acknowledged', async () => {
    const members = ['n0', 'n1', 'n2', 'n3', 'n4'];
    const sent: Message[] = [];
    const n0 = await Ledger.open({
      dir: tempDir(),
      id: 'n0',
      members,
      link: { send: (m) => sent.push(m) },
      segmentSizeBytes: SEG,
      tickMs: 1000,
      electionTicks: 10_000,
      heartbeatTicks: 10,
    });
    try {
      const X = Buffer.from('the entry X');
      const noop = Buffer.alloc(0);
      // term 1: n0 wins with n1 and n2.
      n0.campaign();
      for (const from of ['n1', 'n2']) n0.receive({ type: 'preVoteResp', from, to: 'n0', term: 1, reject: false });
      await settle();
      for (const from of ['n1', 'n2']) n0.receive({ type: 'voteResp', from, to: 'n0', term: 1, reject: false });
      await until('n0 to lead', () => n0.role === 'leader');
      for (const from of ['n1', 'n2']) n0.receive({ type: 'appendResp', from, to: 'n0', term: 1, index: 1, reject: false, rejectHint: 0, hintTerm: 0, epoch: 0 });
      await until('the no-op to commit', () => n0.commitIndex >= 1);
      const pending = n0.append(X);
      const outcome = pending.then((ack) => ({ ack }), (error: Error) => ({ error }));
      await until('X to be written', () => n0.lastIndex === 2);
      const posX = n0.read(2, { uncommitted: true })!.pos;

      // term 2: n3 overwrites index 2 on n0.
      const t2 = await recordsOf([
        { term: 1, type: RecordType.Noop, data: noop },
        { term: 2, type: RecordType.Noop, data: noop },
      ]);
      n0.receive({ type: 'append', from: 'n3', to: 'n0', term: 2, prevIndex: 1, prevTerm: 1, entries: [t2[1]!], commit: 1 });
      await until('n0 to hold the term-2 entry at index 2', () => n0.read(2, { uncommitted: true })?.term === 2);
      expect(n0.role).toBe('follower');

      // term 3: n1 brings X back and commits it with its own no-op.
      const t3 = await recordsOf([
        { term: 1, type: RecordType.Noop, data: noop },
        { term: 1, type: RecordType.Normal, data: X },
        { term: 3, type: RecordType.Noop, data: noop },
      ]);
      n0.receive({ type: 'append', from: 'n1', to: 'n0', term: 3, prevIndex: 1, prevTerm: 1, entries: [t3[1]!, t3[2]!], commit: 3 });
      await until('commit to reach 3', () => n0.commitIndex >= 3);
      const result = await outcome;
      expect('error' in result ? result.error.message : undefined).toBeUndefined();
      expect(result).toEqual({ ack: { index: 2, pos: posX } });
      expect(n0.read(2)!.payload.equals(X)).toBe(true);
    } finally {
      await n0.close();
    }
  });
});
