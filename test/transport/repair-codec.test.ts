import { describe, expect, it } from 'vitest';
import { decodeRepairRequest, decodeRepairResponse, encodeRepairRequest, encodeRepairResponse } from '../../src/transport/repair-codec.js';
import { mulberry32 } from '../../src/raft/index.js';
import { testSeed } from '../support/tmp.js';

describe('repair codec (issue 16)', () => {
  it('round-trips requests and responses', () => {
    const req = { requestId: 7, fromIndex: 100, toIndex: 140, want: [{ index: 100, term: 3, pos: 2 ** 40 }, { index: 140, term: 4, pos: 5 }] };
    expect(decodeRepairRequest(encodeRepairRequest(req))).toEqual(req);
    const resp = { requestId: 7, records: [{ index: 100, term: 3, pos: 2 ** 40, record: new Uint8Array([1, 2, 3]) }, { index: 140, term: 4, pos: 5, record: new Uint8Array(0) }] };
    expect(decodeRepairResponse(encodeRepairResponse(resp))).toEqual(resp);
  });

  it('every truncation and random corruption is ERR_PROTOCOL or a valid frame, never a crash', () => {
    const seed = testSeed('repair-codec');
    const rng = mulberry32(seed);
    const frame = encodeRepairResponse({ requestId: 1, records: [{ index: 9, term: 2, pos: 100, record: new Uint8Array(64).fill(7) }] });
    for (let n = 0; n < frame.byteLength; n++) {
      expect(() => decodeRepairResponse(frame.subarray(0, n)), `seed ${seed} cut ${n}`).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    }
    const req = encodeRepairRequest({ requestId: 1, fromIndex: 1, toIndex: 2, want: [{ index: 1, term: 1, pos: 0 }] });
    for (let i = 0; i < 500; i++) {
      const f = Uint8Array.from(i % 2 === 0 ? frame : req);
      f[Math.floor(rng() * f.byteLength)] = Math.floor(rng() * 256);
      try {
        if (i % 2 === 0) decodeRepairResponse(f);
        else decodeRepairRequest(f);
      } catch (error) {
        expect((error as { code?: string }).code, `seed ${seed} case ${i}`).toBe('ERR_PROTOCOL');
      }
    }
  });
});
