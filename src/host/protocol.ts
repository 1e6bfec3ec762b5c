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
 * Reloads are two-phase (reloadPrepare checks the material and holds the swap on the
 * worker; reloadCommit swaps; reloadAbort drops it), so the owner can swap every thread and
 * its own ports, or none (ledger-host.ts prepareReload).
 *
 * The RPC is typed by op: HostRequestFields gives each request's fields, HostResponses what
 * it resolves with; GroupShard.handle, WorkerChannel.call and LedgerHost's calls all use
 * the pair, so a response is never cast at a call site. Errors cross in errors.ts's wire
 * form (toWireError / fromWireError): RaftLedgerError keeps its code, misuse stays a
 * TypeError / RangeError.
 */
import type { LedgerEntry } from '../entry.js';
import type { WireError } from '../errors.js';
import type { LedgerStatus } from '../replica/ledger.js';
import type { ProducerOptions } from '../replica/idempotence.js';
import type { Consistency } from '../replica/read-gate.js';
import type { MemberChange, MembersView } from '../replica/membership.js';
import type { ReloadMaterial } from '../transport/tls.js';

/** Each request's fields (besides `op`), by op. */
export interface HostRequestFields {
  append: { group: number; payloads: Uint8Array[]; producer?: ProducerOptions };
  read: { group: number; index: number; uncommitted?: boolean };
  readRange: { group: number; from: number; limit?: number; maxBytes?: number; uncommitted?: boolean; waitMs?: number; includeSystem?: boolean };
  status: { group: number };
  commitPosition: { group: number; consistency?: Consistency; maxLagMs?: number };
  statusAll: Record<never, never>;
  transferLeadership: { group: number; to: string; timeoutMs?: number };
  addGroup: { group: number };
  removeGroup: { group: number };
  members: { group: number };
  changeMembers: { group: number; change: MemberChange };
  reloadPrepare: { material: ReloadMaterial };
  reloadCommit: Record<never, never>;
  reloadAbort: Record<never, never>;
  /** The worker attachment's counters (the server's worker client port), null without one. */
  attachmentStats: Record<never, never>;
}

/** What each request resolves with, by op (the same keys as HostRequestFields; a test checks). */
export interface HostResponses {
  append: WireAppendAck;
  read: TransferredEntry | null;
  readRange: TransferredEntry[];
  status: GroupStatus;
  commitPosition: { index: number; pos: number };
  statusAll: GroupStatus[];
  transferLeadership: null;
  addGroup: null;
  removeGroup: null;
  members: MembersView;
  changeMembers: null;
  reloadPrepare: null;
  reloadCommit: null;
  reloadAbort: null;
  attachmentStats: AttachmentStats | null;
}

/** Plain-data counters of a worker attachment (structured-cloneable; opaque to the host). */
export type AttachmentStats = Record<string, unknown>;

export type HostOp = keyof HostRequestFields;

/** A request of op K (of any op by default): `{ op, ...HostRequestFields[op] }`. */
export type HostRequest<K extends HostOp = HostOp> = { [P in K]: { op: P } & HostRequestFields[P] }[K];

export interface GroupStatus extends LedgerStatus {
  /** Worker index (0 with workers: 0) and the thread the group runs on. */
  worker: number;
  threadId: number;
}

/** Append verdict on the wire: consecutive indexes from `index`, one pos each. */
export interface WireAppendAck {
  index: number;
  pos: number[];
}

/** A LedgerEntry after a thread hop: structured clone turns its Buffer payload into a Uint8Array. */
export type TransferredEntry = Omit<LedgerEntry, 'payload'> & { payload: Uint8Array };

export interface Call {
  id: number;
  req: HostRequest;
}

export interface Result {
  id: number;
  /** HostResponses[op] of the call with this id (set unless `err` is). */
  ok?: HostResponses[HostOp];
  err?: WireError;
}

export type ToWorker = { kind: 'batch'; calls: Call[] } | { kind: 'close' } | { kind: 'crash'; how: 'exit' | 'throw' };
export type FromWorker =
  | { kind: 'ready'; threadId: number; groups: number[] }
  | { kind: 'results'; results: Result[] }
  | { kind: 'log'; line: string }
  /** The shard did not open (e.g. a group's start-up repair failed): the error with its code, before the task rejects. */
  | { kind: 'openFailed'; err: WireError };
