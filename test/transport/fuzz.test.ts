import { describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../src/errors.js';
import {
  decodeClientRequest,
  decodeClientResponse,
  encodeClientRequest,
  encodeClientResponse,
} from '../../src/transport/client-codec.js';
import { FrameKind, FrameReader, type Frame } from '../../src/transport/frame.js';
import { decodeHandshake, decodeReject, encodeHandshake, encodeReject } from '../../src/transport/handshake.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/transport/raft-codec.js';
import { decodeRepairFrame } from '../../src/transport/repair-frame.js';
import { decodeRepairRequest, decodeRepairResponse } from '../../src/transport/repair-codec.js';
import { prng, testSeed } from '../support/tmp.js';
import { everyMessage } from './helpers.js';

const SEED = testSeed('transport fuzz');
const CASES = 8000;

/** Decode a frame by kind; a decoded Raft message must re-encode to the very same bytes. */
function decode(frame: Frame): string {
  switch (frame.kind) {
    case FrameKind.Raft: {
      const { group, message } = decodeRaftMessage(frame.body);
      const again = encodeRaftMessage(group, message);
      if (!again.subarray(6).equals(frame.body)) throw new Error('raft decode is not canonical');
      return message.type;
    }
    case FrameKind.ClientRequest:
      return decodeClientRequest(frame.body).op;
    case FrameKind.ClientResponse:
      return decodeClientResponse(frame.body).kind;
    case FrameKind.Handshake:
      return decodeHandshake(frame.body).nodeId;
    case FrameKind.Reject:
      return decodeReject(frame.body);
    case FrameKind.ClientAuth:
      return 'auth'; // a token is opaque bytes
    case FrameKind.Repair: {
      const { message } = decodeRepairFrame(frame.body);
      return message[0] === 40 ? `repair request ${decodeRepairRequest(message).want.length}` : `repair response ${decodeRepairResponse(message).records.length}`;
    }
  }
}

function validFrames(rnd: () => number): Buffer[] {
  const ids: [string, string][] = [['a', 'b'], ['ノード', '🦊'], ['n'.repeat(40), 'm']];
  const [from, to] = ids[Math.floor(rnd() * ids.length)]!;
  const out = everyMessage(from, to, rnd).map((m) => encodeRaftMessage(Math.floor(rnd() * 2 ** 32), m));
  out.push(
    encodeClientRequest({ id: 1, group: 2, op: 'append', payloads: [Buffer.from('abc'), Buffer.alloc(20, 1)] }),
    encodeClientRequest({ id: 3, group: 4, op: 'read', index: 99 }),
    encodeClientRequest({ id: 5, group: 6, op: 'status' }),
    encodeClientResponse({ id: 7, kind: 'append', ok: [{ index: 1, pos: 2 }] }),
    encodeClientResponse({ id: 8, kind: 'read', entry: { index: 1, term: 1, pos: 0, type: 'normal', payload: Buffer.from('p') } }),
    encodeClientResponse({ id: 9, kind: 'read', entry: null }),
    encodeClientResponse({ id: 10, kind: 'status', status: { a: [1, { b: 'c' }] } }),
    encodeClientResponse({ id: 11, kind: 'error', error: { code: 'ERR_NOT_LEADER', message: 'm', retriable: true, leaderHint: { id: 'b', address: 'h:1' } } }),
    encodeHandshake({ clusterId: 'c', segmentSizeBytes: 1 << 20, nodeId: from, targetId: to }),
    encodeReject('no'),
  );
  return out;
}

function mutate(input: Buffer, rnd: () => number): { bytes: Buffer; how: string } {
  const b = Buffer.from(input);
  const at = (): number => Math.floor(rnd() * b.length);
  switch (Math.floor(rnd() * 8)) {
    case 0: {
      const flips = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < flips; i++) { const p = at(); b[p] = b[p]! ^ (1 << Math.floor(rnd() * 8)); }
      return { bytes: b, how: `${flips} bit flips` };
    }
    case 1: {
      const n = at();
      return { bytes: b.subarray(0, n), how: `truncated to ${n}` };
    }
    case 2: {
      const delta = Math.floor(rnd() * 200) - 100;
      b.writeUInt32LE(Math.max(0, b.readUInt32LE(0) + delta), 0);
      return { bytes: b, how: `length ${delta >= 0 ? '+' : ''}${delta}` };
    }
    case 3: {
      b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), 0);
      return { bytes: b, how: 'random length' };
    }
    case 4: {
      const pos = at();
      const ins = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 16) }, () => Math.floor(rnd() * 256)));
      const out = Buffer.concat([b.subarray(0, pos), ins, b.subarray(pos)]);
      if (rnd() < 0.5) out.writeUInt32LE(out.length - 4, 0); // keep the frame length consistent so the decoder sees it
      return { bytes: out, how: `inserted ${ins.length} at ${pos}` };
    }
    case 5: {
      const pos = 6 + Math.floor(rnd() * Math.max(1, b.length - 6));
      const n = 1 + Math.floor(rnd() * 8);
      const out = Buffer.concat([b.subarray(0, pos), b.subarray(pos + n)]);
      out.writeUInt32LE(Math.max(0, out.length - 4), 0);
      return { bytes: out, how: `deleted ${n} at ${pos}, length fixed` };
    }
    case 6: {
      // Body byte changed, length intact: reaches the decoders.
      const pos = 6 + Math.floor(rnd() * Math.max(1, b.length - 6));
      if (pos < b.length) b[pos] = Math.floor(rnd() * 256);
      return { bytes: b, how: `byte ${pos} replaced` };
    }
    default: {
      const n = Math.floor(rnd() * 64);
      return { bytes: Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256))), how: `${n} random bytes` };
    }
  }
}

describe('fuzz: FrameReader and decoders on hostile bytes', () => {
  it(`only decode or ERR_PROTOCOL, ${CASES} cases (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    const outcomes = { decoded: 0, protocolErrors: 0, incomplete: 0 };
    const valid = validFrames(rnd);
    for (let c = 0; c < CASES; c++) {
      const base = valid[Math.floor(rnd() * valid.length)]!;
      // Sometimes mutate a frame in the middle of a stream of good ones.
      const before = rnd() < 0.3 ? valid[Math.floor(rnd() * valid.length)]! : Buffer.alloc(0);
      const { bytes: bad, how } = mutate(base, rnd);
      const input = Buffer.concat([before, bad, rnd() < 0.5 ? valid[0]! : Buffer.alloc(0)]);
      const reader = new FrameReader({ maxFrameBytes: rnd() < 0.5 ? 4096 : undefined });
      const ctx = `seed ${SEED} case ${c} (${how}) input ${input.subarray(0, 96).toString('hex')}`;
      try {
        let off = 0;
        while (off < input.length) {
          const n = 1 + Math.floor(rnd() * 40);
          for (const frame of reader.frames(input.subarray(off, off + n))) {
            try {
              decode(frame);
              outcomes.decoded++;
            } catch (error) {
              if (!isRaftLedgerError(error, 'ERR_PROTOCOL')) throw error;
              outcomes.protocolErrors++;
            }
          }
          off += n;
        }
        if (reader.bufferedBytes > 0) outcomes.incomplete++;
        // Never more than one frame's worth held: the cap bounds memory.
        expect(reader.bufferedBytes, ctx).toBeLessThanOrEqual(reader.maxFrameBytes + 4);
      } catch (error) {
        if (isRaftLedgerError(error, 'ERR_PROTOCOL')) {
          outcomes.protocolErrors++;
          continue;
        }
        expect.fail(`${ctx}: unexpected ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
    process.stdout.write(`[transport fuzz] seed ${SEED}: ${JSON.stringify(outcomes)}\n`);
    // The mix must exercise both outcomes, or the fuzzer is not reaching the decoders.
    expect(outcomes.decoded, `seed ${SEED}`).toBeGreaterThan(CASES / 10);
    expect(outcomes.protocolErrors, `seed ${SEED}`).toBeGreaterThan(CASES / 10);
  });
});
