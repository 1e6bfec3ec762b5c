/**
 * Node's system errors (EADDRINUSE from listen, EACCES/ENOTDIR/EROFS... from the file
 * system) as one line that names the port or path, for the CLI's exit-2 path. Anything
 * else is not a system error and is left to the caller.
 */

interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENOTEMPTY: 'directory not empty',
};

function isSystemError(error: unknown): error is SystemError {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && typeof (error as { syscall?: unknown }).syscall === 'string';
}

/**
 * Node's own message of a socket error, e.g. 'listen EADDRINUSE: address already in use
 * 127.0.0.1:7101': what is left of it once it crossed a worker thread (structured clone
 * keeps the message, not code, syscall, address and port).
 */
const SOCKET_MESSAGE = /^(listen|bind|connect) (E[A-Z]+): .*? (\[?[0-9A-Za-z.:-]*\]?:\d+)$/;

/** One line for a system error, or undefined when `error` is not one. */
export function describeSystemError(error: unknown): string | undefined {
  if (error instanceof Error && !isSystemError(error)) {
    const m = SOCKET_MESSAGE.exec(error.message);
    if (m === null) return undefined;
    return `${m[2]}: ${m[1]} on ${m[3]}: ${REASONS[m[2]!] ?? error.message}`;
  }
  if (!isSystemError(error)) return undefined;
  const reason = REASONS[error.code] ?? error.message;
  if (error.syscall === 'listen' || error.syscall === 'bind' || error.syscall === 'connect') {
    const where = error.address !== undefined ? `${error.address.includes(':') ? `[${error.address}]` : error.address}:${error.port ?? '?'}` : 'the address';
    return `${error.code}: ${error.syscall} on ${where}: ${reason}`;
  }
  if (error.path !== undefined) return `${error.code}: ${error.syscall} ${error.path}${error.dest !== undefined ? ` -> ${error.dest}` : ''}: ${reason}`;
  return `${error.code}: ${error.syscall}: ${reason}`;
}
