/**
 * Errors the client makes. Server errors keep the server's code, message,
 * retriable flag and leader hint; codes this version does not know are kept
 * as given (cast: the ErrorCode union cannot list a newer server's codes).
 */
import { RaftLedgerError, type ErrorCode } from '../errors.js';
import type { WireError } from '../transport/client-codec.js';

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

export function fromWireError(error: WireError): RaftLedgerError {
  return new RaftLedgerError(error.code as ErrorCode, error.message, {
    retriable: error.retriable,
    ...(error.leaderHint !== undefined ? { leaderHint: { ...error.leaderHint } } : {}),
  });
}

export function closedError(): RaftLedgerError {
  return new RaftLedgerError('ERR_CLOSED', 'the client is closed', { retriable: false });
}
