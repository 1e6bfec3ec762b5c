/**
 * The raftledger error family. Every error raftledger raises on purpose is a
 * RaftLedgerError with a stable `code`; clients branch on `code`, never on `message`.
 * `retriable` says whether the same request may succeed if tried again later
 * (possibly elsewhere: see `leaderHint` on ERR_NOT_LEADER).
 *
 * Misuse of the API (wrong argument types, out-of-range options) is a plain
 * TypeError / RangeError thrown at the call, not one of these.
 */

/** Every code a RaftLedgerError may carry; the union is closed (see `isErrorCode`). */
export const ERROR_CODES = [
  'ERR_NOT_LEADER',
  'ERR_MOVED', // this endpoint does not serve the group's data; leaderHint.address does (a server's worker port)
  'ERR_LOG_CORRUPT',
  'ERR_HARD_STATE_LOST', // a log's hard state (meta: term, vote, commit) is missing or damaged while its log is not: --repair cannot restore a vote
  'ERR_NO_SPACE',
  'ERR_IO',
  'ERR_ACCESS',
  'ERR_TIMEOUT',
  'ERR_CLOSED',
  'ERR_ABORTED',
  'ERR_ENTRY_TOO_LARGE',
  'ERR_NOT_A_LOG',
  'ERR_FOREIGN_FILE',
  'ERR_DIR_LOCKED', // another process (or another open in this one) holds the data directory's lock
  'ERR_FOREIGN_DIR', // the directory belongs to another node, cluster or group
  'ERR_BAD_CONFIG',
  'ERR_LOG_FAILED',
  'ERR_OUT_OF_RANGE',
  'ERR_COMPACTED',
  'ERR_OVERLOADED',
  'ERR_TRANSFER_IN_PROGRESS',
  'ERR_PROTOCOL',
  'ERR_UNAVAILABLE',
  'ERR_TLS', // a TLS handshake failed: plaintext to a TLS port, a certificate from another CA, a certificate that does not name the node
  'ERR_AUTH', // the client port refused this client: wrong or missing bearer token
  'ERR_SEQUENCE_GAP', // an idempotent append skipped sequence numbers (docs/FORMAT.md, "Exactly-once appends")
  'ERR_PRODUCER_FENCED', // an idempotent append carried an epoch below the producer's current one
  'ERR_UNKNOWN_PRODUCER', // the producer id is not in the producer table (never issued, evicted, or older than the rebuild window)
  'ERR_SEQUENCE_CONFLICT', // a sequence number reused with other bytes or another batch shape, or a duplicate older than the remembered batches
  'ERR_INTERNAL', // a bug, or a code this version does not know (the original code is in the message)
  'ERR_LOG_DAMAGED', // a read of a log index whose record is known damaged and not yet repaired (storage/log/damage.ts)
  // membership change (docs/RAFT.md, "Membership change"); the first two are retriable
  'ERR_CONF_CHANGE_IN_FLIGHT', // another membership change is not committed yet
  'ERR_NOT_COMMITTED_IN_TERM', // a new leader has not committed an entry of its term yet (Ongaro's fix)
  'ERR_LEARNER_BEHIND', // promote: the learner is too many entries behind the leader
  'ERR_LAST_VOTER', // remove: the member is the only voter
  'ERR_CONF_CHANGE_INVALID', // the change does not fit the configuration (adding a member, promoting a non-learner, removing a non-member, a used address, a quorum at risk)
  'ERR_CLUSTER_MISMATCH', // a server (or a directory) belongs to another cluster than the one this client or node is part of (cluster uid, replica/cluster-id.ts)
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_NOT_LEADER',
  'ERR_MOVED',
  'ERR_TIMEOUT',
  'ERR_OVERLOADED',
  'ERR_TRANSFER_IN_PROGRESS',
  'ERR_UNAVAILABLE',
  'ERR_CONF_CHANGE_IN_FLIGHT',
  'ERR_NOT_COMMITTED_IN_TERM',
]);

export interface LeaderHint {
  id: string;
  /** host:port of the leader's client endpoint, when known. */
  address?: string;
}

export interface RaftLedgerErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  leaderHint?: LeaderHint;
  /** File the error is about (corruption, I/O). */
  path?: string;
  /** Byte offset inside `path`, or absolute log position, that the error is about. */
  offset?: number;
}

/**
 * The brand that marks a RaftLedgerError. `instanceof` on a class only sees objects made by
 * that very class object; a second copy of the package, a vm context or a bundler's
 * duplicate has its own. The registry symbol is the same everywhere in the process, so
 * `instanceof RaftLedgerError` and isRaftLedgerError test the brand instead.
 */
const BRAND: unique symbol = Symbol.for('raftledger.error');

export class RaftLedgerError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly leaderHint?: LeaderHint;
  readonly path?: string;
  readonly offset?: number;

  constructor(code: ErrorCode, message: string, options: RaftLedgerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RaftLedgerError';
    this.code = code;
    this.retriable = options.retriable ?? RETRIABLE.has(code);
    if (options.leaderHint !== undefined) this.leaderHint = options.leaderHint;
    if (options.path !== undefined) this.path = options.path;
    if (options.offset !== undefined) this.offset = options.offset;
  }

  get [BRAND](): true {
    return true;
  }

  /**
   * `x instanceof RaftLedgerError` holds for any object carrying the brand, whichever copy
   * of this class (or realm) made it. Subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== RaftLedgerError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return hasBrand(value);
  }
}

function hasBrand(value: unknown): value is RaftLedgerError {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

export function isRaftLedgerError(value: unknown, code?: ErrorCode): value is RaftLedgerError {
  return hasBrand(value) && (code === undefined || value.code === code);
}

/** Map an error thrown by the addon or node:fs to a RaftLedgerError (TypeError/RangeError pass through). */
export function fromSystemError(error: unknown, what: string, path?: string): Error {
  if (hasBrand(error) || error instanceof TypeError || error instanceof RangeError) return error;
  const e = error as { code?: unknown; message?: unknown; path?: unknown };
  const rawCode = typeof e?.code === 'string' ? e.code : undefined;
  const filePath = path ?? (typeof e?.path === 'string' ? e.path : undefined);
  let code: ErrorCode = 'ERR_IO';
  switch (rawCode) {
    case 'ERR_NO_SPACE':
    case 'ENOSPC':
    case 'EDQUOT':
      code = 'ERR_NO_SPACE';
      break;
    case 'ERR_ACCESS':
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      code = 'ERR_ACCESS';
      break;
    case 'ERR_CLOSED':
      code = 'ERR_CLOSED';
      break;
    default:
      code = 'ERR_IO';
  }
  const detail = typeof e?.message === 'string' ? e.message : String(error);
  return new RaftLedgerError(code, `${what}: ${detail}`, {
    cause: error,
    ...(filePath !== undefined ? { path: filePath } : {}),
  });
}

// ------------------------------------------------------------------ wire form

/**
 * An error as it crosses a boundary: the client protocol's error frame
 * (transport/client-codec.ts) and the host's worker messages (host/protocol.ts). `code` is
 * a string because a peer may be a newer version; fromWireError closes it. `misuse` marks
 * API misuse (TypeError / RangeError) so a thread boundary can rebuild it as such; the
 * client frame has no room for it (the code says enough there).
 */
export interface WireError {
  code: string;
  message: string;
  retriable: boolean;
  leaderHint?: LeaderHint;
  misuse?: 'TypeError' | 'RangeError';
}

/**
 * Any thrown value in wire form. A RaftLedgerError keeps code, message, retriable and
 * leaderHint. Anything else is ERR_INTERNAL, except a RangeError (ERR_OUT_OF_RANGE) and an
 * object whose `code` is a known ErrorCode; an unknown own code is kept in the message.
 */
export function toWireError(error: unknown): WireError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown; retriable?: unknown; leaderHint?: unknown };
  const rawMessage = typeof e.message === 'string' ? e.message : String(error);
  let code: ErrorCode;
  let message = rawMessage;
  if (isErrorCode(e.code)) code = e.code;
  else {
    code = error instanceof RangeError ? 'ERR_OUT_OF_RANGE' : 'ERR_INTERNAL';
    if (typeof e.code === 'string' && e.code !== '') message = `${e.code}: ${rawMessage}`;
  }
  const out: WireError = { code, message: message === '' ? code : message, retriable: e.retriable === true };
  const hint = e.leaderHint as { id?: unknown; address?: unknown } | undefined;
  if (typeof hint === 'object' && hint !== null && typeof hint.id === 'string') {
    out.leaderHint = typeof hint.address === 'string' ? { id: hint.id, address: hint.address } : { id: hint.id };
  }
  if (error instanceof TypeError) out.misuse = 'TypeError';
  else if (error instanceof RangeError) out.misuse = 'RangeError';
  return out;
}

/**
 * The wire form back as an error: a RaftLedgerError with the code, message, retriable flag
 * and leader hint, or the TypeError / RangeError it was. A code this version does not know
 * becomes ERR_INTERNAL with the original code at the start of the message.
 */
export function fromWireError(wire: WireError): RaftLedgerError | TypeError | RangeError {
  if (wire.misuse === 'TypeError') return new TypeError(wire.message);
  if (wire.misuse === 'RangeError') return new RangeError(wire.message);
  return raftLedgerErrorFromWire(wire);
}

/** fromWireError for a boundary that carries only coded errors (the client protocol). */
export function raftLedgerErrorFromWire(wire: WireError): RaftLedgerError {
  const known = isErrorCode(wire.code) ? wire.code : undefined;
  const code: ErrorCode = known ?? 'ERR_INTERNAL';
  const message = known !== undefined ? wire.message : `${wire.code}: ${wire.message}`;
  return new RaftLedgerError(code, message, {
    retriable: wire.retriable,
    ...(wire.leaderHint !== undefined ? { leaderHint: { ...wire.leaderHint } } : {}),
  });
}
