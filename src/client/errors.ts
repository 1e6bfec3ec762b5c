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
export type AttemptFailureKind = 'connection' | 'timeout' | 'protocol' | 'tls' | 'auth' | 'cluster' | 'old-server';

const CODE_OF = { connection: 'ERR_UNAVAILABLE', timeout: 'ERR_TIMEOUT', protocol: 'ERR_PROTOCOL', tls: 'ERR_TLS', auth: 'ERR_AUTH', cluster: 'ERR_CLUSTER_MISMATCH', 'old-server': 'ERR_PROTOCOL' } as const;
/** Failures that are the same on every retry (operations fail with them at once). */
const FINAL: ReadonlySet<AttemptFailureKind> = new Set(['tls', 'auth', 'cluster', 'old-server']);

export class AttemptFailure extends RaftLedgerError {
  readonly kind: AttemptFailureKind;
  readonly sent: boolean;
  readonly address: string;

  constructor(kind: AttemptFailureKind, address: string, sent: boolean, message: string, cause?: unknown) {
    super(CODE_OF[kind], message, {
      // A TLS or authentication refusal, another cluster, a server without the hello: the same on every retry.
      retriable: !FINAL.has(kind),
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

/** A TLS handshake failure, an authentication refusal, a server of another cluster or one without the client hello: operations fail with it at once. */
export function isSecurityFailure(error: unknown): boolean {
  return error instanceof AttemptFailure && FINAL.has(error.kind);
}

export function closedError(): RaftLedgerError {
  return new RaftLedgerError('ERR_CLOSED', 'the client is closed', { retriable: false });
}
