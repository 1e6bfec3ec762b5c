/**
 * Errors the client makes itself. Server errors come back through errors.ts's
 * raftLedgerErrorFromWire (code, message, retriable flag and leader hint; a code this
 * version does not know becomes ERR_INTERNAL with the original in the message).
 */
import { RaftLedgerError } from '../errors.js';

/**
 * Why one attempt ended without a server verdict. `sent` says whether the
 * request may have reached the server: if so, its outcome is unknown.
 */
export type AttemptFailureKind = 'connection' | 'timeout' | 'protocol';

export class AttemptFailure extends RaftLedgerError {
  readonly kind: AttemptFailureKind;
  readonly sent: boolean;
  readonly address: string;

  constructor(kind: AttemptFailureKind, address: string, sent: boolean, message: string, cause?: unknown) {
    super(kind === 'timeout' ? 'ERR_TIMEOUT' : kind === 'protocol' ? 'ERR_PROTOCOL' : 'ERR_UNAVAILABLE', message, {
      retriable: true,
      ...(cause !== undefined ? { cause } : {}),
    });
    this.name = 'RaftLedgerError';
    this.kind = kind;
    this.sent = sent;
    this.address = address;
  }

  /** The same failure for a request that was (not) written yet. */
  withSent(sent: boolean): AttemptFailure {
    if (sent === this.sent) return this;
    return new AttemptFailure(this.kind, this.address, sent, this.message, this.cause);
  }
}

export function closedError(): RaftLedgerError {
  return new RaftLedgerError('ERR_CLOSED', 'the client is closed', { retriable: false });
}
