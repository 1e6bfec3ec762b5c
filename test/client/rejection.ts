/** The RaftLedgerError that `promise` rejects with; fails the test if it resolves or rejects with anything else. */
import { expect } from 'vitest';
import { RaftLedgerError } from '../../src/errors.js';

export async function rejection(promise: Promise<unknown>): Promise<RaftLedgerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RaftLedgerError);
    return error as RaftLedgerError;
  }
  throw new Error('expected a rejection');
}
