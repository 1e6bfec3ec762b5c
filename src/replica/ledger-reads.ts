/**
 * Read helpers of the Ledger: log entries as LedgerEntry, readRange()'s and tail()'s argument
 * checks, the tail generator. readRange and tail leave system entries (the leader's no-op of
 * each term, configuration entries) out unless `includeSystem: true` (issue 15).
 */
import { entryTypeName, type LedgerEntry } from '../entry.js';
import type { LogEntry } from '../storage/index.js';
import { entryTypeOf } from '../transport/entry-types.js';
import { checkPositiveInteger } from './ledger-types.js';

export function toLedgerEntry(e: LogEntry): LedgerEntry {
  return { index: e.index, term: e.term, pos: e.pos, type: entryTypeName(entryTypeOf(e.type)), payload: e.data };
}

/** Without includeSystem, only normal entries (no-op and configuration entries left out). */
export function withoutSystem(entries: LedgerEntry[], includeSystem: boolean | undefined): LedgerEntry[] {
  return includeSystem === true ? entries : entries.filter((e) => e.type === 'normal');
}

function checkIncludeSystem(what: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${what}: includeSystem must be a boolean`);
}

/** readRange()'s arguments (RangeError/TypeError) and its defaults: 1000 entries, 4 MiB. */
export function checkRangeArguments(from: number, options: { limit?: number; maxBytes?: number; includeSystem?: boolean }): { limit: number; maxBytes: number } {
  checkPositiveInteger('readRange', 'from', from);
  if (options === null || typeof options !== 'object') throw new TypeError('readRange: options must be an object');
  checkIncludeSystem('readRange', options.includeSystem);
  const limit = options.limit ?? 1000;
  checkPositiveInteger('readRange', 'limit', limit);
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  checkPositiveInteger('readRange', 'maxBytes', maxBytes);
  return { limit, maxBytes };
}

export interface TailOptions {
  signal?: AbortSignal;
  batchBytes?: number;
  /** Also yield no-op and configuration entries (default false). */
  includeSystem?: boolean;
}

/** What tailing needs from its Ledger. */
export interface TailSource {
  closed(): boolean;
  /** The error the replica stopped with, if it did. */
  failed(): Error | undefined;
  commitIndex(): number;
  /** Every committed entry, system entries included. */
  readRange(from: number, options: { limit: number; maxBytes: number }): LedgerEntry[];
  /**
   * Call `wake` once at the next commit or at close. Returns a function that drops `wake`
   * unfired (an aborted tail must not leave a waiter behind on an idle ledger).
   */
  waitForCommit(wake: () => void): () => void;
}

/** tail()'s arguments, checked at the call (RangeError/TypeError), not at the first next(). */
export function checkTailArguments(from: number, options: TailOptions): void {
  checkPositiveInteger('tail', 'from', from);
  if (options === null || typeof options !== 'object') throw new TypeError('tail: options must be an object');
  if (options.batchBytes !== undefined) checkPositiveInteger('tail', 'batchBytes', options.batchBytes);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('tail: signal must be an AbortSignal');
  checkIncludeSystem('tail', options.includeSystem);
}

/**
 * Adds `wake` to the commit waiters `list()` (the list a commit fires and replaces); returns
 * the function that takes it out again if it has not fired.
 */
export function addCommitWaiter(list: () => Array<() => void>, wake: () => void): () => void {
  list().push(wake);
  return () => {
    const waiters = list();
    const i = waiters.indexOf(wake);
    if (i >= 0) waiters.splice(i, 1);
  };
}

/** Ends when the signal aborts or the ledger closes; throws the replica's failure. */
export async function* tailEntries(source: TailSource, from: number, options: TailOptions): AsyncGenerator<LedgerEntry> {
  let next = from;
  const signal = options.signal;
  while (!source.closed() && signal?.aborted !== true) {
    const failed = source.failed();
    if (failed !== undefined) throw failed;
    if (next <= source.commitIndex()) {
      for (const e of source.readRange(next, { limit: 4096, maxBytes: options.batchBytes ?? 1024 * 1024 })) {
        next = e.index + 1;
        if (options.includeSystem === true || e.type === 'normal') yield e;
      }
      continue;
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const cancel = source.waitForCommit(done);
      const aborted = (): void => {
        cancel();
        done();
      };
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}
