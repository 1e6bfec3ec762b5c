/**
 * Ledger.receive is where a received append's CRCs are checked (once, before the Raft core
 * sees it); the structure was checked by the decoder. A damaged record is dropped, not
 * written, and the replica keeps running.
 */
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/replica/ledger.js';
import { SegmentedLog } from '../../src/storage/index.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/transport/raft-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';
import type { Message } from '../../src/raft/index.js';
import { useTempDirs } from '../support/tmp.js';
import { pollUntil } from '../support/wait.js';

const tempDir = useTempDirs();
const SEG = 1024 * 1024;

const until = (what: () => boolean, timeoutMs = 5000): Promise<void> => pollUntil(what, 'the condition', { limitMs: timeoutMs, stepMs: 5 });

describe('Ledger.receive', () => {
  it('drops an append whose record fails its CRC and accepts the intact one', async () => {
    const source = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG });
    const written = source.appendEntries([{ term: 1, data: Buffer.from('payload') }]);
    await source.close();
    const sent: Message[] = [];
    const lines: string[] = [];
    const follower = await Ledger.open({
      dir: tempDir(),
      id: 'a',
      members: ['a', 'b'],
      link: { send: (m) => sent.push(m) },
      segmentSizeBytes: SEG,
      electionTicks: 100_000, // never campaigns during the test
      onLog: (line) => lines.push(line),
    });
    try {
      const appendWith = (record: Uint8Array): Message => {
        const frame = encodeRaftMessage(0, {
          type: 'append',
          from: 'b',
          to: 'a',
          term: 1,
          prevIndex: 0,
          prevTerm: 0,
          commit: 0,
          entries: [{ index: 1, term: 1, type: 1, data: record.subarray(48), record } as never],
        });
        return decodeRaftMessage(Buffer.from(frame.subarray(FRAME_HEADER_BYTES))).message;
      };
      const damaged = Buffer.from(written.records[0]!);
      damaged[damaged.byteLength - 1]! ^= 1; // a payload bit: the structure is intact
      follower.receive(appendWith(damaged));
      expect(lines.some((l) => /dropped an append from b: .*crc/.test(l))).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(follower.lastIndex).toBe(0);
      expect(follower.closed).toBe(false);

      follower.receive(appendWith(written.records[0]!));
      await until(() => follower.lastIndex === 1);
      expect(lines.filter((l) => l.includes('dropped an append'))).toHaveLength(1);
    } finally {
      await follower.close();
    }
  });
});
