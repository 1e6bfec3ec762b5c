/** Waiting helpers of the Ledger's API: an abortable wait for a verdict, a wait for a new leader. */
import { RaftLedgerError } from '../errors.js';

/**
 * `result`, or ERR_ABORTED when `signal` aborts first (the operation may still complete).
 * Without a signal, `result` itself.
 */
export function abortable<T>(result: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return result;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new RaftLedgerError('ERR_ABORTED', 'append aborted while waiting (it may still commit)', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    result.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Where 'leader' events come from (the Ledger). */
export interface LeaderEvents {
  on(event: 'leader', listener: (leader: string) => void): unknown;
  off(event: 'leader', listener: (leader: string) => void): unknown;
}

/** Resolves at the first 'leader' event naming `to`; ERR_TIMEOUT after timeoutMs, ERR_ABORTED when the signal aborts. */
export function waitForLeader(source: LeaderEvents, to: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      source.off('leader', onLeader);
      signal?.removeEventListener('abort', onAbort);
    };
    const onLeader = (leader: string): void => {
      if (leader === to) {
        cleanup();
        resolve();
      }
    };
    const onAbort = (): void => {
      cleanup();
      reject(new RaftLedgerError('ERR_ABORTED', 'transferLeadership aborted'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new RaftLedgerError('ERR_TIMEOUT', `leadership did not move to ${to} within ${timeoutMs} ms`));
    }, timeoutMs);
    source.on('leader', onLeader);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
