import { describe, expect, it } from 'vitest';
import { runInNewContext } from 'node:vm';
import {
  ERROR_CODES,
  RaftLedgerError,
  fromWireError,
  isErrorCode,
  isRaftLedgerError,
  raftLedgerErrorFromWire,
  toWireError,
  type WireError,
} from '../src/errors.js';
import * as distErrors from '../dist/errors.js';
import { AttemptFailure } from '../src/client/errors.js';
import { decodeClientResponse, encodeClientResponse } from '../src/transport/client-codec.js';
import { FRAME_HEADER_BYTES } from '../src/transport/frame.js';

describe('RaftLedgerError brand (instanceof across realms and copies)', () => {
  it('recognizes an error made by another copy of the module (dist/ next to src/)', () => {
    const other = new distErrors.RaftLedgerError('ERR_TIMEOUT', 'from the other copy');
    expect(distErrors.RaftLedgerError).not.toBe(RaftLedgerError);
    expect(other instanceof RaftLedgerError).toBe(true);
    expect(isRaftLedgerError(other, 'ERR_TIMEOUT')).toBe(true);
    expect(isRaftLedgerError(other, 'ERR_CLOSED')).toBe(false);
    expect(new RaftLedgerError('ERR_IO', 'x') instanceof distErrors.RaftLedgerError).toBe(true);
  });

  it('recognizes an object built in a vm context that carries the brand', () => {
    const foreign: unknown = runInNewContext(
      "const e = new Error('made in a vm'); e[Symbol.for('raftledger.error')] = true; e.code = 'ERR_NOT_LEADER'; e.retriable = true; e",
    );
    expect(foreign instanceof Error).toBe(false); // another realm's Error
    expect(foreign instanceof RaftLedgerError).toBe(true);
    expect(isRaftLedgerError(foreign, 'ERR_NOT_LEADER')).toBe(true);
  });

  it('recognizes a plain object with the brand, and nothing without it', () => {
    expect({ [Symbol.for('raftledger.error')]: true, code: 'ERR_IO' } instanceof RaftLedgerError).toBe(true);
    expect({ code: 'ERR_IO', message: 'no brand' } instanceof RaftLedgerError).toBe(false);
    expect({ [Symbol.for('raftledger.error')]: 'yes' } instanceof RaftLedgerError).toBe(false);
    expect(new Error('plain') instanceof RaftLedgerError).toBe(false);
    const nothing: unknown = null;
    expect(nothing instanceof RaftLedgerError).toBe(false);
    expect(isRaftLedgerError(undefined)).toBe(false);
    expect(isRaftLedgerError('ERR_IO')).toBe(false);
  });

  it('keeps the ordinary prototype check for subclasses', () => {
    const failure = new AttemptFailure('timeout', '127.0.0.1:1', false, 'slow');
    expect(failure instanceof AttemptFailure).toBe(true);
    expect(failure instanceof RaftLedgerError).toBe(true);
    expect(new RaftLedgerError('ERR_TIMEOUT', 'not an attempt') instanceof AttemptFailure).toBe(false);
  });
});

describe('the error-code union is closed', () => {
  it('lists ERR_INTERNAL and knows exactly its codes', () => {
    expect(ERROR_CODES).toContain('ERR_INTERNAL');
    // Issue 17: TLS handshake failures and authentication refusals have their own codes.
    expect(ERROR_CODES).toContain('ERR_TLS');
    expect(ERROR_CODES).toContain('ERR_AUTH');
    expect(new RaftLedgerError('ERR_AUTH', 'wrong token').retriable).toBe(false);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(isErrorCode(code)).toBe(true);
    expect(isErrorCode('ERR_FROM_THE_FUTURE')).toBe(false);
    expect(isErrorCode('ENOENT')).toBe(false);
    expect(isErrorCode(7)).toBe(false);
  });
});

describe('one wire form for errors', () => {
  it('round-trips a RaftLedgerError: code, message, retriable, leader hint', () => {
    const e = new RaftLedgerError('ERR_NOT_LEADER', 'not me', { leaderHint: { id: 'n2', address: '127.0.0.1:7002' } });
    const wire = toWireError(e);
    expect(wire).toEqual({ code: 'ERR_NOT_LEADER', message: 'not me', retriable: true, leaderHint: { id: 'n2', address: '127.0.0.1:7002' } });
    const back = fromWireError(wire);
    expect(back).toBeInstanceOf(RaftLedgerError);
    expect(back).toMatchObject({ code: 'ERR_NOT_LEADER', message: 'not me', retriable: true, leaderHint: { id: 'n2', address: '127.0.0.1:7002' } });
    const notRetriable = toWireError(new RaftLedgerError('ERR_TIMEOUT', 't', { retriable: false }));
    expect(fromWireError(notRetriable)).toMatchObject({ code: 'ERR_TIMEOUT', retriable: false });
  });

  it('keeps misuse as TypeError / RangeError across a thread boundary', () => {
    const type = fromWireError(toWireError(new TypeError('bad argument')));
    expect(type).toBeInstanceOf(TypeError);
    expect(type.message).toBe('bad argument');
    const range = fromWireError(toWireError(new RangeError('too big')));
    expect(range).toBeInstanceOf(RangeError);
    expect(toWireError(new RangeError('too big')).code).toBe('ERR_OUT_OF_RANGE'); // what the client frame carries
    expect(toWireError(new TypeError('x')).code).toBe('ERR_INTERNAL');
  });

  it('gives errors without a known code ERR_INTERNAL, keeping their own code in the message', () => {
    expect(toWireError(new Error('boom'))).toEqual({ code: 'ERR_INTERNAL', message: 'boom', retriable: false });
    const sys = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(toWireError(sys)).toEqual({ code: 'ERR_INTERNAL', message: 'ENOENT: no such file', retriable: false });
    expect(toWireError('a string')).toEqual({ code: 'ERR_INTERNAL', message: 'a string', retriable: false });
    expect(toWireError(new Error(''))).toEqual({ code: 'ERR_INTERNAL', message: 'ERR_INTERNAL', retriable: false });
    const coded = Object.assign(new Error('disk full'), { code: 'ERR_NO_SPACE' });
    expect(toWireError(coded).code).toBe('ERR_NO_SPACE');
  });

  it('maps a code this version does not know to ERR_INTERNAL with the original in the message', () => {
    const wire: WireError = { code: 'ERR_FROM_THE_FUTURE', message: 'something new', retriable: true, leaderHint: { id: 'n3' } };
    for (const e of [fromWireError(wire), raftLedgerErrorFromWire(wire)]) {
      expect(e).toBeInstanceOf(RaftLedgerError);
      expect(e).toMatchObject({ code: 'ERR_INTERNAL', retriable: true, leaderHint: { id: 'n3' } });
      expect(e.message).toBe('ERR_FROM_THE_FUTURE: something new');
    }
  });

  it('decodes an unknown code from a client error frame to ERR_INTERNAL', () => {
    const frame = encodeClientResponse({ id: 9, kind: 'error', error: { code: 'ERR_FROM_THE_FUTURE', message: 'newer server', retriable: false } });
    const response = decodeClientResponse(frame.subarray(FRAME_HEADER_BYTES));
    if (response.kind !== 'error') throw new Error(`expected an error response, got ${response.kind}`);
    const e = raftLedgerErrorFromWire(response.error);
    expect(e.code).toBe('ERR_INTERNAL');
    expect(e.message).toBe('ERR_FROM_THE_FUTURE: newer server');
    expect(e.retriable).toBe(false);
  });
});
