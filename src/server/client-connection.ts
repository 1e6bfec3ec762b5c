/**
 * One connection on a client port (see client-listener.ts for the port): decodes requests,
 * routes them, writes responses (those finished in one event-loop turn in one write), and
 * enforces the per-connection limits of client-limits.ts:
 *
 * - idle: no request in flight and no frame under way for idleTimeoutMs (measured from the
 *   last complete frame or response) closes it;
 * - frame: an unfinished frame older than frameTimeoutMs closes it; the clock runs only
 *   while this side reads (a connection paused by backpressure gets a fresh window on resume);
 * - buffer: after every chunk, the bytes of its unfinished frame count against the
 *   listener-wide budget; past maxPendingFrameBytesPerConnection or the total, it is closed.
 *
 * Every such close sends a connection notice (client-codec.ts) and then ends the socket,
 * discarding whatever still arrives, and destroys it after NOTICE_LINGER_MS. A malformed
 * frame destroys the connection at once with a logged reason. Nothing else is harmed.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';

import { RaftLedgerError, toWireError, type ErrorCode } from '../errors.js';
import {
  CONNECTION_NOTICE_ID,
  decodeClientRequestFrame,
  encodeClientResponse,
  type ClientRequest,
  type ClientResponse,
} from '../transport/client-codec.js';
import type { WireHello } from '../transport/member-codec.js';
import { FrameReader } from '../transport/frame.js';
import type { ClientLimits } from './client-limits.js';
import type { LedgerRouter } from './client-listener.js';
import type { LoopDelayMonitor } from './loop-delay.js';
import { capRead, ReadFlow, type ReadStats } from './read-requests.js';
import { entriesResponseBytes } from '../transport/client-reads-codec.js';

const HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** How long a connection closed with a notice may take to go away by itself. */
export const NOTICE_LINGER_MS = 1000;

/** Listener-wide state the connections share. */
export interface ConnectionContext {
  router: LedgerRouter;
  loopDelay: LoopDelayMonitor;
  maxInFlightPerConnection: number;
  limits: ClientLimits;
  /** The FrameReader cap (frameCapFor(limits)). */
  maxFrameBytes: number;
  /** Bytes of unfinished frames across connections; peak after the limits were applied. */
  budget: { total: number; peak: number };
  counters: { closedIdle: number; closedFrameTimeout: number; closedOverBuffer: number };
  reads: ReadStats;
  /** Who answers the client hello (op 32). */
  hello: WireHello;
  log: (line: string) => void;
}

const now = (): number => performance.now();

/** A connection notice: the server's reason for closing, as a client sees it. */
export function encodeNotice(code: ErrorCode, message: string, retriable: boolean): Buffer {
  return encodeClientResponse({ id: CONNECTION_NOTICE_ID, kind: 'error', error: { code, message, retriable } });
}

export class ClientConnection {
  readonly #socket: Socket;
  /** Dropped (null) once the connection stops serving, with whatever partial frame it held. */
  #reader: FrameReader | null;
  readonly #ctx: ConnectionContext;
  readonly #who: string;
  #inFlight = 0;
  #out: Buffer[] = [];
  #flushScheduled = false;
  #closed = false;
  #paused = false;
  /** This connection's share of ctx.budget.total (its reader's bufferedBytes after the last chunk). */
  #pendingBytes = 0;
  /** When the unfinished frame's clock started (its first byte, or reading resumed); -1: none. */
  #frameStartedMs = -1;
  /** The last complete frame received or response queued. */
  #lastActivityMs: number;
  #timer: NodeJS.Timeout | undefined;
  #timerDueMs = Number.POSITIVE_INFINITY;
  #linger: NodeJS.Timeout | undefined;
  /** Flow control of range reads (read-requests.ts): responses wait while the write backlog is large. */
  readonly #flow = new ReadFlow(() => this.#socket.writableLength + this.#out.reduce((n, b) => n + b.length, 0));

  constructor(socket: Socket, ctx: ConnectionContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#who = `client ${socket.remoteAddress}:${socket.remotePort}`;
    this.#reader = new FrameReader({ maxFrameBytes: ctx.maxFrameBytes });
    this.#lastActivityMs = now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#flow.drained();
      this.#maybeResume();
    });
    socket.on('error', () => this.close());
    socket.on('close', () => {
      clearTimeout(this.#linger);
      this.close();
    });
    this.#arm(this.#lastActivityMs);
  }

  /** Destroy now (listener shutdown, socket error or close). Idempotent. */
  close(): void {
    if (this.#release()) this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const reader = this.#reader;
    if (reader === null) return; // closing after a notice: discard
    let frames = 0;
    try {
      for (const frame of reader.frames(chunk)) {
        frames++;
        this.#handle(decodeClientRequestFrame(frame));
        if (this.#closed) return;
      }
    } catch (error) {
      this.#ctx.log(`${this.#who}: closing: ${(error as Error).message}`);
      this.close();
      return;
    }
    const t = now();
    if (frames > 0) this.#lastActivityMs = t;
    this.#account(reader, t, frames > 0);
  }

  /** Apply the buffer limits to what the last chunk left unfinished, then re-arm the timer. */
  #account(reader: FrameReader, t: number, completedFrame: boolean): void {
    const { budget, limits } = this.#ctx;
    const buffered = reader.bufferedBytes;
    budget.total += buffered - this.#pendingBytes;
    this.#pendingBytes = buffered;
    if (buffered === 0) this.#frameStartedMs = -1;
    else if (completedFrame || this.#frameStartedMs < 0) this.#frameStartedMs = t;
    if (buffered > limits.maxPendingFrameBytesPerConnection) {
      this.#ctx.counters.closedOverBuffer++;
      this.#closeWithNotice(
        'ERR_ENTRY_TOO_LARGE',
        false,
        `${buffered} bytes of an unfinished frame exceed maxPendingFrameBytesPerConnection (${limits.maxPendingFrameBytesPerConnection})`,
      );
      return;
    }
    if (budget.total > limits.maxPendingFrameBytesTotal) {
      this.#ctx.counters.closedOverBuffer++;
      this.#closeWithNotice(
        'ERR_OVERLOADED',
        true,
        `unfinished frames of all client connections would hold ${budget.total} bytes, over maxPendingFrameBytesTotal (${limits.maxPendingFrameBytesTotal}); this one had ${buffered}`,
      );
      return;
    }
    if (budget.total > budget.peak) budget.peak = budget.total;
    this.#arm(t);
  }

  /** Make sure a timer fires by the next deadline (frame or idle) that applies now. */
  #arm(t: number): void {
    if (this.#closed) return;
    const { frameTimeoutMs, idleTimeoutMs } = this.#ctx.limits;
    let due = Number.POSITIVE_INFINITY;
    if (this.#frameStartedMs >= 0) {
      if (!this.#paused) due = this.#frameStartedMs + frameTimeoutMs;
    } else if (this.#inFlight === 0) {
      due = this.#lastActivityMs + idleTimeoutMs;
    }
    // A timer already due sooner re-checks (and re-arms) when it fires.
    if (due === Number.POSITIVE_INFINITY || (this.#timer !== undefined && this.#timerDueMs <= due)) return;
    clearTimeout(this.#timer);
    this.#timerDueMs = due;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(1, Math.ceil(due - t)));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerDueMs = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    const t = now();
    const { frameTimeoutMs, idleTimeoutMs } = this.#ctx.limits;
    if (this.#frameStartedMs >= 0) {
      if (!this.#paused && t - this.#frameStartedMs >= frameTimeoutMs) {
        this.#ctx.counters.closedFrameTimeout++;
        this.#closeWithNotice('ERR_TIMEOUT', true, `a frame was not completed within frameTimeoutMs (${frameTimeoutMs} ms; ${this.#pendingBytes} bytes of it arrived)`);
        return;
      }
    } else if (this.#inFlight === 0 && t - this.#lastActivityMs >= idleTimeoutMs) {
      this.#ctx.counters.closedIdle++;
      // Expected for clients that keep idle connections: counted, not logged.
      this.#closeWithNotice('ERR_UNAVAILABLE', true, `closing an idle connection (no request for idleTimeoutMs, ${idleTimeoutMs} ms)`, false);
      return;
    }
    this.#arm(t);
  }

  #handle(request: ClientRequest): void {
    const router = this.#ctx.router;
    // Every request counts as in flight until #respond, whatever answers it.
    this.#inFlight++;
    if (this.#inFlight >= this.#ctx.maxInFlightPerConnection) this.#pause();
    if (request.op === 'hello') {
      // Any group, any port (a worker's too): who this server is, before anything else.
      this.#respond({ id: request.id, kind: 'hello', hello: this.#ctx.hello });
      return;
    }
    const moved = router.movedTo?.(request.group, request.op);
    if (moved !== undefined) {
      this.#respondError(
        request.id,
        new RaftLedgerError('ERR_MOVED', `group ${request.group} is served at ${moved.address ?? '?'} (${request.op} requests go there)`, { leaderHint: moved }),
      );
      return;
    }
    if (!router.hasGroup(request.group)) {
      this.#respondError(request.id, new RaftLedgerError('ERR_BAD_CONFIG', `this server does not host group ${request.group}`));
      return;
    }
    let pending: Promise<ClientResponse>;
    try {
      switch (request.op) {
        case 'append':
          pending = router.append(request.group, request.payloads, request.producer).then((ok) => ({ id: request.id, kind: 'append', ok }));
          break;
        case 'producerId':
          pending = Promise.resolve({ id: request.id, kind: 'producerId', ...newProducerId() });
          break;
        case 'read':
          pending = Promise.resolve(router.read(request.group, request.index)).then((entry) => ({
            id: request.id,
            kind: 'read',
            entry,
          }));
          break;
        case 'commitPosition':
          pending = router
            .commitPosition(request.group, { consistency: request.consistency, ...(request.maxLagMs > 0 ? { maxLagMs: request.maxLagMs } : {}) })
            .then(({ index, pos }) => ({ id: request.id, kind: 'commitPosition', index, pos }));
          break;
        case 'readRange': {
          const readRange = router.readRange;
          if (readRange === undefined) throw new RaftLedgerError('ERR_BAD_CONFIG', 'this port does not serve readRange');
          const id = request.id;
          pending = readRange(request.group, capRead(request), this.#flow, this.#ctx.reads).then((r) => ({ id, kind: 'entries', ...r }));
          break;
        }
        case 'status':
          pending = Promise.resolve(router.status(request.group)).then((status) => ({
            id: request.id,
            kind: 'status',
            status: { ...(status as Record<string, unknown>), host: { threadId, eventLoopDelay: this.#ctx.loopDelay.snapshot() } },
          }));
          break;
        case 'members':
        case 'changeMembers': {
          const { members, changeMembers } = router;
          if (members === undefined || changeMembers === undefined) throw new RaftLedgerError('ERR_BAD_CONFIG', 'this endpoint does not serve membership requests');
          const changed = request.op === 'changeMembers' ? changeMembers(request.group, request.change) : Promise.resolve();
          pending = changed.then(() => members(request.group)).then((view) => ({ id: request.id, kind: 'members', members: { ...view } }));
          break;
        }
      }
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => this.#respond(response),
      (error: unknown) => this.#respondError(request.id, error),
    );
  }

  #respondError(id: number, error: unknown): void {
    this.#respond({ id, kind: 'error', error: toWireError(error) });
  }

  #respond(response: ClientResponse): void {
    this.#inFlight--;
    if (response.kind === 'entries') this.#flow.release(entriesResponseBytes(response.entries));
    this.#maybeResume();
    if (this.#closed) return;
    let bytes: Buffer;
    try {
      bytes = encodeClientResponse(response);
    } catch (error) {
      bytes = encodeClientResponse({ id: response.id, kind: 'error', error: { code: 'ERR_INTERNAL', message: (error as Error).message, retriable: false } });
    }
    this.#out.push(bytes);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    if (this.#inFlight === 0) {
      this.#lastActivityMs = now();
      this.#arm(this.#lastActivityMs);
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#out.length === 0) return;
    const out = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out);
    this.#out = [];
    this.#socket.write(out);
    if (this.#socket.writableLength > HIGH_WATER_BYTES) this.#pause();
  }

  #pause(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#inFlight < this.#ctx.maxInFlightPerConnection / 2 && this.#socket.writableLength < HIGH_WATER_BYTES / 2) {
      this.#paused = false;
      if (this.#closed) return;
      this.#socket.resume();
      if (this.#frameStartedMs >= 0) {
        this.#frameStartedMs = now(); // the stall was ours, not the client's
        this.#arm(this.#frameStartedMs);
      }
    }
  }

  /** Tell the client why (a connection notice), end the socket, and let it go; logs `reason` unless told not to. */
  #closeWithNotice(code: ErrorCode, retriable: boolean, reason: string, log = true): void {
    if (!this.#release()) return;
    if (log) this.#ctx.log(`${this.#who}: closing: ${reason}`);
    const out = this.#out;
    this.#out = [];
    out.push(encodeNotice(code, `connection closed: ${reason}`, retriable));
    this.#socket.resume(); // read and discard until the client closes, so nothing blocks the notice
    this.#socket.end(out.length === 1 ? out[0]! : Buffer.concat(out));
    this.#linger = setTimeout(() => this.#socket.destroy(), NOTICE_LINGER_MS);
    this.#linger.unref();
  }

  /** Stop serving: clear the timer and give back buffered bytes. False if already done. */
  #release(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ctx.budget.total -= this.#pendingBytes;
    this.#pendingBytes = 0;
    this.#reader = null;
    this.#frameStartedMs = -1;
    this.#flow.close();
    return true;
  }
}

/**
 * A fresh producer identity for a network client (README.md "Exactly-once appends"): 53
 * random bits (never 0) and epoch 0. Nothing is stored: a producer enters a group's producer
 * table with its first append (sequence 0), so an id nobody was given, used with a later
 * sequence, is refused with ERR_UNKNOWN_PRODUCER; two clients drawing the same id (odds
 * about n^2 / 2^54) would fence or gap each other, never duplicate silently.
 */
export function newProducerId(): { producerId: number; epoch: number } {
  for (;;) {
    const b = randomBytes(8);
    const producerId = (b.readUInt32LE(4) & 0x1f_ffff) * 0x1_0000_0000 + b.readUInt32LE(0);
    if (producerId !== 0) return { producerId, epoch: 0 };
  }
}
