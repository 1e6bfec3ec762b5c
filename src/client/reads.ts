/**
 * The network client's range reads (issue 15): readRange, and tail, a long-polling
 * readRange loop (server side: server/read-requests.ts). Client (client.ts) hands these
 * functions a ReadContext: its request runner, so routing, redirects and retries are those
 * of every other request. Arguments are checked at the call: TypeError for wrong types,
 * RangeError for out-of-range values.
 *
 * Consistency (README "Reading the log"): 'linearizable' (default) and 'lease' are answered
 * by the leader (a follower redirects), and the answer holds every entry committed before
 * the call, up to limit/maxBytes; 'follower' asks the servers in turn, starting with the
 * next one, so such reads spread over the replicas, and moves on when one refuses (it has
 * not heard from a leader within maxLagMs) or cannot be reached. Entries are committed
 * whatever the level: the level only decides how fresh the end of the answer is.
 *
 * System entries (the no-op a leader writes at the start of its term, configuration
 * entries) are left out unless `includeSystem: true`.
 */
import type { LedgerEntry } from '../entry.js';
import { RaftLedgerError } from '../errors.js';
import { WIRE_CONSISTENCY, type ClientResponse, type WireConsistency } from '../transport/client-codec.js';
import { Backoff } from './backoff.js';
import type { Request } from './connection.js';
import { checkOpOptions, tryAddress, type OpOptions } from './options.js';

export interface ReadRangeOptions extends OpOptions {
  /** At most this many entries (default 1000; the server caps it at 10 000). */
  limit?: number;
  /** About this many bytes (default 1 MiB, capped at 16 MiB; at least one entry is returned). */
  maxBytes?: number;
  /** Default 'linearizable'. */
  consistency?: WireConsistency;
  /** 'follower': how long since the replica last heard from a leader it may be (ms; default the server's, 5000). */
  maxLagMs?: number;
  /** Also return no-op and configuration entries (default false). */
  includeSystem?: boolean;
}

export interface TailOptions extends Omit<ReadRangeOptions, 'limit' | 'maxBytes'> {
  /** Stops the iteration: the pending poll is abandoned and the loop ends without an error. */
  signal?: AbortSignal;
  /** Bytes per batch (readRange maxBytes; default 1 MiB). */
  maxBatchBytes?: number;
  /** How long one long poll may wait on the server for a new entry (default 1000 ms, at most 30 000, at most half the requestTimeoutMs). */
  pollMs?: number;
}

/** What the reads need from their Client. */
export interface ReadContext {
  /** Client#run: routing, redirects, retries until the deadline. */
  run(request: Request, options: { signal?: AbortSignal | undefined; pinned?: string | undefined; once?: boolean }): Promise<ClientResponse>;
  /** The group when the options name none. */
  group: number;
  servers: readonly string[];
  /** The next server in round-robin order ('follower' reads). */
  nextServer(): string;
  requestTimeoutMs: number;
}

type Entries = Extract<ClientResponse, { kind: 'entries' }>;

function checkPositiveInt(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer in 1..${max}, got ${value}`);
  return value;
}

/** The request fields shared by readRange and tail, checked. */
function checkReadFields(what: string, o: ReadRangeOptions): Pick<Extract<Request, { op: 'readRange' }>, 'consistency' | 'maxLagMs' | 'includeSystem'> {
  const consistency = o.consistency ?? 'linearizable';
  if (typeof consistency !== 'string' || !WIRE_CONSISTENCY.includes(consistency)) {
    throw new RangeError(`${what}: consistency must be one of ${WIRE_CONSISTENCY.join(', ')}, got ${JSON.stringify(consistency)}`);
  }
  const maxLagMs = o.maxLagMs === undefined ? 0 : checkPositiveInt(o.maxLagMs, `${what}: maxLagMs`, 0xffff_ffff);
  if (o.includeSystem !== undefined && typeof o.includeSystem !== 'boolean') throw new TypeError(`${what}: includeSystem must be a boolean`);
  return { consistency, maxLagMs, includeSystem: o.includeSystem === true };
}

/** A copy of each payload, so entries do not pin the response frame. */
function own(entries: readonly LedgerEntry[]): LedgerEntry[] {
  return entries.map((e) => ({ index: e.index, term: e.term, pos: e.pos, type: e.type, payload: Buffer.from(e.payload) }));
}

/**
 * A 'follower' read: each server in turn (round robin) until one answers; a server that
 * serves the group on another port (ERR_MOVED, a worker's port) is asked there. Rejects
 * with the last retriable error when none answers.
 */
export async function followerRun(ctx: ReadContext, request: Request, signal: AbortSignal | undefined): Promise<ClientResponse> {
  let last: unknown;
  for (let k = 0; k < ctx.servers.length; k++) {
    let server = ctx.nextServer();
    for (let moves = 0; ; moves++) {
      try {
        return await ctx.run(request, { signal, pinned: server, once: true });
      } catch (error) {
        const moved = error instanceof RaftLedgerError && error.code === 'ERR_MOVED' ? tryAddress(error.leaderHint?.address) : undefined;
        if (moved !== undefined && moved !== server && moves < 2) {
          server = moved;
          continue;
        }
        if (!(error instanceof RaftLedgerError) || !error.retriable) throw error;
        last = error;
        break;
      }
    }
  }
  throw last;
}

/** One range read: to the leader, or ('follower') to each server in turn until one answers. */
async function fetchRange(ctx: ReadContext, request: Extract<Request, { op: 'readRange' }>, signal: AbortSignal | undefined): Promise<Entries> {
  if (request.consistency !== 'follower') return (await ctx.run(request, { signal })) as Entries;
  return (await followerRun(ctx, request, signal)) as Entries;
}

export function checkRangeArguments(from: unknown, options: unknown): { o: ReadRangeOptions } {
  checkPositiveInt(from, 'readRange: from', Number.MAX_SAFE_INTEGER);
  const o = checkOpOptions(options, 'readRange') as ReadRangeOptions;
  return { o };
}

/** Committed entries from `from`, in index order; [] past the end of the log. */
export async function readRange(ctx: ReadContext, from: number, options?: ReadRangeOptions): Promise<LedgerEntry[]> {
  const { o } = checkRangeArguments(from, options);
  const fields = checkReadFields('readRange', o);
  const limit = o.limit === undefined ? 1000 : checkPositiveInt(o.limit, 'readRange: limit', 0xffff_ffff);
  const maxBytes = o.maxBytes === undefined ? 1024 * 1024 : checkPositiveInt(o.maxBytes, 'readRange: maxBytes', 0xffff_ffff);
  const request: Extract<Request, { op: 'readRange' }> = { op: 'readRange', group: o.group ?? ctx.group, from, limit, maxBytes, waitMs: 0, ...fields };
  const response = await fetchRange(ctx, request, o.signal);
  checkBatch(response, from, fields.includeSystem);
  return own(response.entries);
}

/** tail()'s arguments, checked at the call (not at the first next()). */
export function checkTailArguments(from: unknown, options: unknown): TailOptions {
  checkPositiveInt(from, 'tail: from', Number.MAX_SAFE_INTEGER);
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new TypeError('tail: options must be an object');
  const o = options as TailOptions;
  checkOpOptions({ group: o.group, signal: o.signal }, 'tail');
  checkReadFields('tail', o);
  if (o.maxBatchBytes !== undefined) checkPositiveInt(o.maxBatchBytes, 'tail: maxBatchBytes', 0xffff_ffff);
  if (o.pollMs !== undefined) checkPositiveInt(o.pollMs, 'tail: pollMs', 30_000);
  return o;
}

/** A server's answer breaks the stream's contract: never skipped over. */
function checkBatch(response: Entries, from: number, includeSystem: boolean): void {
  let expected = from;
  const bad = (why: string): RaftLedgerError => new RaftLedgerError('ERR_PROTOCOL', `readRange from ${from}: ${why}`);
  if (response.next < from) throw bad(`the server's next (${response.next}) is before from`);
  for (const e of response.entries) {
    if (includeSystem ? e.index !== expected : e.index < expected) throw bad(`expected entry ${expected}, got ${e.index}`);
    expected = e.index + 1;
  }
}

/**
 * Committed entries from `from` on, in index order, waiting for new ones by long-polling
 * readRange (each poll waits up to pollMs on the server for the next entry to commit).
 *
 * Resumable: each poll asks from where the last answer said the stream goes on (`next`),
 * and a poll that fails (connection broken, failover, ERR_NOT_LEADER, deadline) is retried,
 * by the client's routing, from that same index, so a consumer sees every committed entry
 * once, in order, with no gap, across failovers (entries are committed on every replica
 * that answers with them, and committed entries never change).
 *
 * Flow control: one poll at a time, of at most maxBatchBytes, sent only when the consumer
 * asks for the entry after the last batch; a consumer that stops pulling stops polling and
 * the server holds nothing for it (server/read-requests.ts bounds what a server buffers per
 * connection in any case). Ends without an error when `signal` aborts; rejects with
 * ERR_CLOSED when the client closes, and with a non-retriable error (e.g. ERR_COMPACTED: the
 * entries were removed by retention) as it comes.
 */
export async function* tail(ctx: ReadContext, from: number, options: TailOptions): AsyncGenerator<LedgerEntry> {
  const fields = checkReadFields('tail', options);
  const signal = options.signal;
  const waitMs = Math.max(0, Math.min(options.pollMs ?? 1000, Math.floor(ctx.requestTimeoutMs / 2)));
  const group = options.group ?? ctx.group;
  const maxBytes = options.maxBatchBytes ?? 1024 * 1024;
  const backoff = new Backoff();
  let next = from;
  const stopped = (): boolean => signal?.aborted === true;
  while (!stopped()) {
    let response: Entries;
    try {
      response = await fetchRange(ctx, { op: 'readRange', group, from: next, limit: 10_000, maxBytes, waitMs, ...fields }, signal);
    } catch (error) {
      if (stopped()) return;
      if (error instanceof RaftLedgerError && error.retriable) {
        await sleep(backoff.next(), signal);
        continue;
      }
      throw error;
    }
    backoff.reset();
    checkBatch(response, next, fields.includeSystem);
    const batch = own(response.entries);
    next = response.next;
    for (const e of batch) yield e;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
