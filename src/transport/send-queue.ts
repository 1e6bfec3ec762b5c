/**
 * Per-connection outgoing Raft messages: batching and backpressure.
 *
 * Messages enqueued during one event-loop turn are encoded into one Buffer and
 * handed to the socket with a single write (flush scheduled with setImmediate,
 * so everything sent from the same poll phase joins the batch). When the
 * socket's write() returns false the queue stops writing and keeps collecting
 * until 'drain', then writes everything collected as one batch. The bytes held
 * here plus the bytes the socket still buffers are capped; past the cap a
 * message is dropped (and counted): Raft retransmits, memory must not grow.
 */
import type { Message } from '../raft/types.js';
import { encodeRaftBatch, type RaftEnvelope } from './raft-codec.js';

export interface SendSink {
  /** Bytes the socket has accepted but not yet sent (socket.writableLength). */
  readonly writableLength: number;
  /** socket.write: false means wait for drain(). */
  write(data: Buffer): boolean;
}

export class SendQueue {
  readonly #sink: SendSink;
  readonly #maxQueuedBytes: number;
  #pending: RaftEnvelope[] = [];
  #pendingBytes = 0;
  #blocked = false;
  #closed = false;
  #immediate: NodeJS.Immediate | null = null;
  #framesOut = 0;
  #bytesOut = 0;
  #writes = 0;
  #dropped = 0;

  constructor(sink: SendSink, maxQueuedBytes: number) {
    this.#sink = sink;
    this.#maxQueuedBytes = maxQueuedBytes;
  }

  /** Bytes waiting here plus bytes buffered in the socket. */
  get queuedBytes(): number {
    return this.#pendingBytes + (this.#closed ? 0 : this.#sink.writableLength);
  }

  get framesOut(): number {
    return this.#framesOut;
  }

  get bytesOut(): number {
    return this.#bytesOut;
  }

  /** socket.write calls made. */
  get writes(): number {
    return this.#writes;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Queue a message whose encoded frame is `size` bytes (raftFrameSize, which also validated
   * it; the flush trusts both, so the message must not change once queued). False (and
   * counted) if it was dropped.
   */
  enqueue(group: number, message: Message, size: number): boolean {
    if (this.#closed || this.queuedBytes + size > this.#maxQueuedBytes) {
      this.#dropped++;
      return false;
    }
    this.#pending.push({ group, message });
    this.#pendingBytes += size;
    if (this.#immediate === null && !this.#blocked) this.#immediate = setImmediate(this.#flush);
    return true;
  }

  /** The socket drained: write what accumulated meanwhile. */
  drain(): void {
    this.#blocked = false;
    if (this.#pending.length > 0 && this.#immediate === null && !this.#closed) this.#immediate = setImmediate(this.#flush);
  }

  /** Stop; pending messages are dropped (returned count). Idempotent. */
  close(): number {
    if (this.#closed) return 0;
    this.#closed = true;
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    const n = this.#pending.length;
    this.#dropped += n;
    this.#pending = [];
    this.#pendingBytes = 0;
    return n;
  }

  readonly #flush = (): void => {
    this.#immediate = null;
    if (this.#closed || this.#blocked || this.#pending.length === 0) return;
    const batch = this.#pending;
    const sizeBytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    const data = encodeRaftBatch(batch, sizeBytes);
    this.#framesOut += batch.length;
    this.#bytesOut += data.length;
    this.#writes++;
    if (!this.#sink.write(data)) this.#blocked = true;
  };
}
