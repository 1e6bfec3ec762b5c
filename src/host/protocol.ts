/**
 * What travels between the main thread and a worker over the MessagePort. Everything is
 * structured-cloneable; payload bytes ride in transferred ArrayBuffers (see payloads.ts).
 *
 * main -> worker: { kind: 'batch', calls }        every call queued for that worker in one turn
 *                 { kind: 'close' }               close the shard, then end the task
 *                 { kind: 'crash', how }          test hook: die the way a bug would
 * worker -> main: { kind: 'ready', threadId, groups }
 *                 { kind: 'results', results }    every verdict reached in one turn
 *                 { kind: 'log', line }
 *
 * Errors cross as { name, code, message, retriable, leaderHint } and are rebuilt on the
 * main thread: RaftLedgerError for coded errors, TypeError/RangeError for misuse.
 */
import { RaftLedgerError, type ErrorCode, type LeaderHint } from '../errors.js';

export type HostRequest =
  | { op: 'append'; group: number; payloads: Uint8Array[] }
  | { op: 'read'; group: number; index: number; uncommitted?: boolean }
  | { op: 'readRange'; group: number; from: number; limit?: number; maxBytes?: number; uncommitted?: boolean; waitMs?: number }
  | { op: 'status'; group: number }
  | { op: 'statusAll' }
  | { op: 'transferLeadership'; group: number; to: string; timeoutMs?: number }
  | { op: 'addGroup'; group: number }
  | { op: 'removeGroup'; group: number };

export interface Call {
  id: number;
  req: HostRequest;
}

export interface WireError {
  name: string;
  code?: string;
  message: string;
  retriable: boolean;
  leaderHint?: LeaderHint;
}

export interface Result {
  id: number;
  ok?: unknown;
  err?: WireError;
}

/** Append verdict on the wire: consecutive indexes from `index`, one pos each. */
export interface WireAppendAck {
  index: number;
  pos: number[];
}

export interface WireEntry {
  index: number;
  term: number;
  pos: number;
  type: number;
  payload: Uint8Array;
}

export type ToWorker = { kind: 'batch'; calls: Call[] } | { kind: 'close' } | { kind: 'crash'; how: 'exit' | 'throw' };
export type FromWorker =
  | { kind: 'ready'; threadId: number; groups: number[] }
  | { kind: 'results'; results: Result[] }
  | { kind: 'log'; line: string };

export function toWireError(error: unknown): WireError {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; retriable?: unknown; leaderHint?: LeaderHint };
  const out: WireError = {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
    retriable: e?.retriable === true,
  };
  if (typeof e?.code === 'string') out.code = e.code;
  if (e?.leaderHint !== undefined && typeof e.leaderHint.id === 'string') {
    out.leaderHint = e.leaderHint.address === undefined ? { id: e.leaderHint.id } : { id: e.leaderHint.id, address: String(e.leaderHint.address) };
  }
  return out;
}

export function fromWireError(w: WireError): Error {
  if (w.code === undefined || !w.code.startsWith('ERR_')) {
    if (w.name === 'TypeError') return new TypeError(w.message);
    if (w.name === 'RangeError') return new RangeError(w.message);
  }
  // Codes outside ErrorCode (e.g. an addon's own) are kept as they came.
  const code = (w.code ?? 'ERR_INTERNAL') as ErrorCode;
  return new RaftLedgerError(code, w.message, {
    retriable: w.retriable,
    ...(w.leaderHint !== undefined ? { leaderHint: w.leaderHint } : {}),
  });
}
