/** The heartbeat read flag (bit 3, TRANSPORT_VERSION 4): readSeq travels only when present and is checked like every u64. */
import { describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../src/errors.js';
import type { Message } from '../../src/raft/types.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/transport/raft-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';

const body = (b: Buffer): Buffer => b.subarray(FRAME_HEADER_BYTES);

describe('raft codec read flag', () => {
  it('round-trips heartbeat and heartbeatResp with and without readSeq; the flag costs 8 bytes only when set', () => {
    const msgs: Message[] = [
      { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 7 },
      { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 7, readSeq: 12 },
      { type: 'heartbeatResp', from: 'b', to: 'a', term: 3, epoch: 5 },
      { type: 'heartbeatResp', from: 'b', to: 'a', term: 3, epoch: 5, readSeq: 2 ** 40 },
    ];
    for (const m of msgs) expect(decodeRaftMessage(body(encodeRaftMessage(1, m)))).toEqual({ group: 1, message: m });
    expect(encodeRaftMessage(1, msgs[1]!).byteLength - encodeRaftMessage(1, msgs[0]!).byteLength).toBe(8);
    expect(() => encodeRaftMessage(1, { ...msgs[1]!, readSeq: -1 } as Message)).toThrow(RangeError);
  });

  it('rejects the read flag on other types and a flagged heartbeat without its readSeq', () => {
    const vote = body(encodeRaftMessage(0, { type: 'voteResp', from: 'a', to: 'b', term: 1, reject: false }));
    vote[5] = 8;
    let caught: unknown;
    try { decodeRaftMessage(vote); } catch (e) { caught = e; }
    expect(isRaftLedgerError(caught, 'ERR_PROTOCOL')).toBe(true);
    const hb = Buffer.from(body(encodeRaftMessage(0, { type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0 })));
    hb[5] = 8;
    caught = undefined;
    try { decodeRaftMessage(hb); } catch (e) { caught = e; }
    expect(isRaftLedgerError(caught, 'ERR_PROTOCOL')).toBe(true);
  });
});
