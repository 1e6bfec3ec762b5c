/**
 * Limits of one client port (ClientListener): how many connections it holds, how long a
 * connection may sit idle or take over one frame, and how many bytes of unfinished frames it
 * buffers. Every limit closes only the connection that hits it, with a logged reason and,
 * where the client can use it, a connection notice (see ClientListener); the port and the
 * replica carry on.
 *
 * Defaults (DEFAULT_CLIENT_LIMITS, also in the README's "Client-port limits"):
 *   maxConnections                     a quarter of the process's open-file limit
 *                                      (RLIMIT_NOFILE soft limit, from /proc/self/limits),
 *                                      between 64 and 4096; 1024 where it cannot be read
 *   idleTimeoutMs                      300000 (5 min) with no request in flight and no frame
 *                                      under way
 *   frameTimeoutMs                     60000 from a frame's first byte to its last
 *   maxPendingFrameBytesPerConnection  one largest frame: DEFAULT_MAX_FRAME_BYTES + 4
 *   maxPendingFrameBytesTotal          256 MiB across the listener's connections
 *   maxPendingHandshakes               256 connections still in their TLS handshake or
 *                                      waiting for their auth frame
 */
import { readFileSync } from 'node:fs';

import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, FRAME_LENGTH_FIELD_BYTES } from '../transport/frame.js';

export interface ClientLimits {
  /** Connections open at once; one more is sent ERR_OVERLOADED (retriable) and closed. */
  maxConnections: number;
  /** A connection with nothing in flight and no frame under way for this long is closed. */
  idleTimeoutMs: number;
  /** A frame whose first byte arrived this long ago and which is still incomplete closes its connection. */
  frameTimeoutMs: number;
  /**
   * Bytes of the unfinished frame one connection may have buffered; a frame declared bigger
   * than this is refused from its header (before its body is buffered).
   */
  maxPendingFrameBytesPerConnection: number;
  /** Bytes of unfinished frames across all connections; the connection that goes past it is closed. */
  maxPendingFrameBytesTotal: number;
  /**
   * Connection-flood guard: connections accepted and not yet authenticated (no first byte
   * yet, a TLS handshake under way, or waiting for the token frame). One more is destroyed
   * on accept, before any TLS work is spent on it, and counted (reason pending_handshakes).
   */
  maxPendingHandshakes: number;
}

const MIN_DEFAULT_CONNECTIONS = 64;
const MAX_DEFAULT_CONNECTIONS = 4096;
const FALLBACK_MAX_CONNECTIONS = 1024;

/** The soft RLIMIT_NOFILE of this process, or undefined where /proc/self/limits is not readable. */
export function openFileLimit(): number | undefined {
  try {
    const text = readFileSync('/proc/self/limits', 'latin1');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (match === null) return undefined;
    return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** The default maxConnections for an open-file limit (undefined: not known). */
export function defaultMaxConnections(fileLimit: number | undefined): number {
  if (fileLimit === undefined || !(fileLimit > 0)) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(MIN_DEFAULT_CONNECTIONS, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor(fileLimit / 4)));
}

export const DEFAULT_CLIENT_LIMITS: Readonly<Omit<ClientLimits, 'maxConnections'>> = {
  idleTimeoutMs: 300_000,
  frameTimeoutMs: 60_000,
  maxPendingFrameBytesPerConnection: DEFAULT_MAX_FRAME_BYTES + FRAME_LENGTH_FIELD_BYTES,
  maxPendingFrameBytesTotal: 256 * 1024 * 1024,
  maxPendingHandshakes: 256,
};

function positiveInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** The limits with defaults filled in; a bad value is a RangeError naming the option. */
export function resolveClientLimits(given: Partial<ClientLimits>): ClientLimits {
  const limits: ClientLimits = {
    maxConnections: positiveInteger(given.maxConnections ?? defaultMaxConnections(openFileLimit()), 'maxConnections', 1),
    idleTimeoutMs: positiveInteger(given.idleTimeoutMs ?? DEFAULT_CLIENT_LIMITS.idleTimeoutMs, 'idleTimeoutMs', 1),
    frameTimeoutMs: positiveInteger(given.frameTimeoutMs ?? DEFAULT_CLIENT_LIMITS.frameTimeoutMs, 'frameTimeoutMs', 1),
    maxPendingFrameBytesPerConnection: positiveInteger(
      given.maxPendingFrameBytesPerConnection ?? DEFAULT_CLIENT_LIMITS.maxPendingFrameBytesPerConnection,
      'maxPendingFrameBytesPerConnection',
      FRAME_HEADER_BYTES,
    ),
    maxPendingFrameBytesTotal: positiveInteger(
      given.maxPendingFrameBytesTotal ?? DEFAULT_CLIENT_LIMITS.maxPendingFrameBytesTotal,
      'maxPendingFrameBytesTotal',
      FRAME_HEADER_BYTES,
    ),
    maxPendingHandshakes: positiveInteger(given.maxPendingHandshakes ?? DEFAULT_CLIENT_LIMITS.maxPendingHandshakes, 'maxPendingHandshakes', 1),
  };
  return limits;
}

/** The FrameReader cap (length field) that keeps one unfinished frame within the per-connection cap. */
export function frameCapFor(limits: ClientLimits): number {
  return Math.min(DEFAULT_MAX_FRAME_BYTES, limits.maxPendingFrameBytesPerConnection - FRAME_LENGTH_FIELD_BYTES);
}

/** Why the listener closed connections, counted (ClientListener.stats()). */
export interface ClientPortStats {
  /** Connections open now (including ones closing after a notice). */
  connections: number;
  /** Connections accepted since start (refused ones not included). */
  accepted: number;
  /** Connections refused at maxConnections. */
  refused: number;
  closedIdle: number;
  closedFrameTimeout: number;
  /** Closed for going past maxPendingFrameBytesPerConnection or maxPendingFrameBytesTotal. */
  closedOverBuffer: number;
  /** Bytes of unfinished frames buffered now, across connections. */
  pendingFrameBytes: number;
  /** The most pendingFrameBytes has been after the limits were applied to a chunk. */
  peakPendingFrameBytes: number;
  /** Accept errors (EMFILE, ENFILE, ...) since start; each paused accepting for a back-off. */
  acceptErrors: number;
  /** Connections refused by TLS or authentication, or past maxPendingHandshakes, by reason: plaintext, tls, token, pending_handshakes. */
  rejectedByReason?: Record<string, number>;
  /** Connections accepted and not yet authenticated (TLS handshake or auth frame under way). */
  pendingHandshakes?: number;
  /** False during an accept back-off. */
  accepting: boolean;
}
