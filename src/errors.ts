/**
 * The raftledger error family. Every error raftledger raises on purpose is a
 * RaftLedgerError with a stable `code`; clients branch on `code`, never on `message`.
 * `retriable` says whether the same request may succeed if tried again later
 * (possibly elsewhere: see `leaderHint` on ERR_NOT_LEADER).
 *
 * Misuse of the API (wrong argument types, out-of-range options) is a plain
 * TypeError / RangeError thrown at the call, not one of these.
 */

export type ErrorCode =
  | 'ERR_NOT_LEADER'
  | 'ERR_MOVED' // this endpoint does not serve the group's data; leaderHint.address does (a server's worker port)
  | 'ERR_LOG_CORRUPT'
  | 'ERR_NO_SPACE'
  | 'ERR_IO'
  | 'ERR_ACCESS'
  | 'ERR_TIMEOUT'
  | 'ERR_CLOSED'
  | 'ERR_ABORTED'
  | 'ERR_ENTRY_TOO_LARGE'
  | 'ERR_NOT_A_LOG'
  | 'ERR_FOREIGN_FILE'
  | 'ERR_DIR_LOCKED' // another process (or another open in this one) holds the data directory's lock
  | 'ERR_FOREIGN_DIR' // the directory belongs to another node, cluster or group
  | 'ERR_BAD_CONFIG'
  | 'ERR_LOG_FAILED'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_COMPACTED'
  | 'ERR_OVERLOADED'
  | 'ERR_TRANSFER_IN_PROGRESS'
  | 'ERR_PROTOCOL'
  | 'ERR_UNAVAILABLE';

const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_NOT_LEADER',
  'ERR_MOVED',
  'ERR_TIMEOUT',
  'ERR_OVERLOADED',
  'ERR_TRANSFER_IN_PROGRESS',
  'ERR_UNAVAILABLE',
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
}

export function isRaftLedgerError(value: unknown, code?: ErrorCode): value is RaftLedgerError {
  return value instanceof RaftLedgerError && (code === undefined || value.code === code);
}

/** Map an error thrown by the addon or node:fs to a RaftLedgerError (TypeError/RangeError pass through). */
export function fromSystemError(error: unknown, what: string, path?: string): Error {
  if (error instanceof RaftLedgerError || error instanceof TypeError || error instanceof RangeError) return error;
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
