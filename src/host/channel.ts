/**
 * Main-thread end of one worker's MessagePort: calls made in one event-loop turn leave as
 * one 'batch' message (payloads packed by payloads.ts, buffers transferred); results come
 * back batched the same way. When the worker goes away every call waiting on it (sent or
 * still queued) rejects with the error given to fail(), never hangs.
 */
import type { MessagePort } from 'node:worker_threads';
import { fromWireError, RaftLedgerError } from '../errors.js';
import { packPayloads } from './payloads.js';
import type { Call, FromWorker, HostOp, HostRequest, HostResponses, ToWorker } from './protocol.js';

interface Waiting {
  resolve: (value: HostResponses[HostOp]) => void;
  reject: (error: Error) => void;
}

export interface ChannelStats {
  batches: number;
  calls: number;
  copiedBytes: number;
  transferredBuffers: number;
}

export class WorkerChannel {
  readonly worker: number;
  readonly #port: MessagePort;
  readonly #waiting = new Map<number, Waiting>();
  #queue: Call[] = [];
  #transferOk: boolean[] = [];
  #scheduled = false;
  #nextId = 1;
  #failed: Error | undefined;
  #onReady: ((threadId: number, groups: number[]) => void) | undefined;
  /** The worker's shard failed to open (its error keeps its code, unlike the task's rejection). */
  onOpenFailed: ((error: Error) => void) | undefined;
  readonly #onLog: (line: string) => void;
  readonly stats: ChannelStats = { batches: 0, calls: 0, copiedBytes: 0, transferredBuffers: 0 };

  constructor(worker: number, port: MessagePort, onReady: (threadId: number, groups: number[]) => void, onLog: (line: string) => void) {
    this.worker = worker;
    this.#port = port;
    this.#onReady = onReady;
    this.#onLog = onLog;
    port.on('message', (message: FromWorker) => this.#onMessage(message));
  }

  get inFlight(): number {
    return this.#waiting.size;
  }

  /** Queue a call for this turn's batch. `transfer`: append payloads that own their buffer may be moved. */
  call<K extends HostOp>(req: HostRequest<K>, transfer?: boolean): Promise<HostResponses[K]>;
  /**
   * Invariant behind the typed signature above: the result that comes back under a call's
   * id is the worker's answer to that call's request, made by GroupShard.handle, which is
   * typed by the same HostRequestFields / HostResponses pair.
   */
  call(req: HostRequest, transfer = false): Promise<HostResponses[HostOp]> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    return new Promise<HostResponses[HostOp]>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#queue.push({ id, req });
      this.#transferOk.push(transfer);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#queue.length === 0 || this.#failed !== undefined) return;
    const calls = this.#queue;
    const transferOk = this.#transferOk;
    this.#queue = [];
    this.#transferOk = [];
    const appends: Array<{ at: number; id: number; req: HostRequest<'append'> }> = [];
    const lists: Uint8Array[][] = [];
    const allow: boolean[] = [];
    for (let i = 0; i < calls.length; i++) {
      const { id, req } = calls[i]!;
      if (req.op === 'append') {
        appends.push({ at: i, id, req });
        lists.push(req.payloads);
        allow.push(transferOk[i] === true);
      }
    }
    let transfer: ArrayBuffer[] = [];
    if (lists.length > 0) {
      const packed = packPayloads(lists, allow);
      for (let k = 0; k < appends.length; k++) {
        const { at, id, req } = appends[k]!;
        calls[at] = { id, req: { ...req, payloads: packed.views[k]! } };
      }
      transfer = packed.transfer;
      this.stats.copiedBytes += packed.copiedBytes;
      this.stats.transferredBuffers += transfer.length;
    }
    const message: ToWorker = { kind: 'batch', calls };
    try {
      this.#port.postMessage(message, transfer);
      this.stats.batches++;
      this.stats.calls += calls.length;
    } catch (error) {
      const e = new RaftLedgerError('ERR_UNAVAILABLE', `could not post to worker ${this.worker}: ${(error as Error).message}`, { cause: error });
      for (const c of calls) this.#settle(c.id, undefined, e);
    }
  }

  #settle(id: number, value: HostResponses[HostOp] | undefined, error: Error | undefined): void {
    const w = this.#waiting.get(id);
    if (w === undefined) return;
    this.#waiting.delete(id);
    if (error !== undefined) w.reject(error);
    else if (value === undefined) w.reject(new RaftLedgerError('ERR_INTERNAL', `worker ${this.worker} answered call ${id} with neither a value nor an error`));
    else w.resolve(value);
  }

  #onMessage(message: FromWorker): void {
    switch (message.kind) {
      case 'results':
        for (const r of message.results) this.#settle(r.id, r.ok, r.err === undefined ? undefined : fromWireError(r.err));
        return;
      case 'ready': {
        const onReady = this.#onReady;
        this.#onReady = undefined;
        onReady?.(message.threadId, message.groups);
        return;
      }
      case 'log':
        this.#onLog(message.line);
        return;
      case 'openFailed':
        this.onOpenFailed?.(fromWireError(message.err));
        return;
    }
  }

  send(message: ToWorker): void {
    if (this.#failed !== undefined) return;
    try {
      this.#port.postMessage(message);
    } catch {
      // the worker is gone; its task's end reports that
    }
  }

  /** The worker is gone (or going): reject everything waiting and refuse new calls. */
  fail(error: Error): void {
    if (this.#failed !== undefined) return;
    this.#failed = error;
    this.#queue = [];
    this.#transferOk = [];
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(error);
    this.#port.close();
  }
}
