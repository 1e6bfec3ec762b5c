/** The one check of the transport tests that a decode (or encode) refuses its input with ERR_PROTOCOL. */
import { expect } from 'vitest';
import { isRaftLedgerError } from '../../src/errors.js';

/** `fn` throws a RaftLedgerError ERR_PROTOCOL (whose message matches `reason`, when given). */
export function expectProtocolError(fn: () => unknown, reason?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isRaftLedgerError(caught, 'ERR_PROTOCOL'), `expected ERR_PROTOCOL, got ${String(caught)}`).toBe(true);
  if (reason) expect((caught as Error).message).toMatch(reason);
}
