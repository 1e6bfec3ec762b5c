/**
 * Argument checking for the client: misuse is a TypeError (wrong type) or a
 * RangeError (right type, bad value), thrown at the call.
 */
import { readFileSync } from 'node:fs';
import { RaftLedgerError } from '../errors.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';
import { encodeAuthFrame } from '../transport/tls.js';

/**
 * TLS to the client ports. Each field is a file path (string, read once by connect()) or
 * the PEM bytes. `ca` verifies the servers' certificates (their host name or IP address
 * must match the certificate, as in HTTPS); `cert` and `key` are this client's certificate
 * for servers with clientAuth 'tls'.
 */
export interface ClientTlsOptions {
  ca: string | Uint8Array;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** Name the servers' certificates must carry, when it is not the host of their address. */
  servername?: string;
}

export interface ResolvedTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
}

export interface ConnectOptions {
  /** 'host:port' client endpoints of the cluster ('[v6]:port' for IPv6). */
  servers: string[];
  /** Raft group the operations address unless they say otherwise. Default 0. */
  group?: number;
  /** Bound on one attempt (one request on one connection). Default 5000. */
  requestTimeoutMs?: number;
  /** Bound on a whole operation, retries included. Default 15000. */
  deadlineMs?: number;
  /** Requests outstanding per connection; more wait for a slot. Default 4096. */
  maxInFlight?: number;
  /**
   * Exactly-once appends (default true): the client gets a producer id from the cluster and
   * numbers its appends per group, so a retry after an unknown outcome is answered with the
   * original result. false: the old at-least-once behaviour (README.md "Exactly-once appends").
   */
  idempotent?: boolean;
  /**
   * Appends issued while others are in flight are sent together, one request per group per
   * event-loop turn (append-coalescer.ts); each caller still gets its own result. Default
   * true; false: one request per append().
   */
  batchAppends?: boolean;
  /** Bound on establishing one TCP connection. Default requestTimeoutMs. */
  connectTimeoutMs?: number;
  /** TLS to the servers (absent: plaintext). A failed handshake is ERR_TLS, not retried. */
  tls?: ClientTlsOptions;
  /** Bearer token for servers with clientAuth 'token' (sent first on every connection); refused: ERR_AUTH, not retried. */
  token?: string;
  /**
   * The uid of the cluster to talk to (16 hex digits, `raftledger status`/members show it):
   * a server of another cluster is refused with ERR_CLUSTER_MISMATCH (not retried). Absent:
   * the uid of the first server that answers the client hello, then the same check (a client
   * never mixes answers from two clusters).
   */
  clusterUid?: string;
  /** The cluster name (--cluster-id) the servers must report; another one is ERR_CLUSTER_MISMATCH. Absent: not checked. */
  clusterId?: string;
}

export interface ResolvedOptions {
  servers: string[];
  group: number;
  requestTimeoutMs: number;
  deadlineMs: number;
  maxInFlight: number;
  idempotent: boolean;
  batchAppends: boolean;
  connectTimeoutMs: number;
  tls?: ResolvedTls;
  /** The ClientAuth frame carrying the token. */
  authFrame?: Buffer;
  clusterUid?: string;
  clusterId?: string;
}

function readPem(value: unknown, name: string): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value !== 'string' || value === '') throw new TypeError(`connect: ${name} must be a file path or PEM bytes`);
  try {
    return readFileSync(value);
  } catch (error) {
    throw new RaftLedgerError('ERR_TLS', `connect: cannot read ${name} file ${value}: ${(error as Error).message}`, { cause: error, retriable: false });
  }
}

function resolveTls(tls: unknown): ResolvedTls {
  if (tls === null || typeof tls !== 'object') throw new TypeError('connect: tls must be an object { ca, cert?, key? }');
  const t = tls as Record<string, unknown>;
  if ((t.cert === undefined) !== (t.key === undefined)) throw new TypeError('connect: tls.cert and tls.key go together');
  const out: ResolvedTls = { ca: readPem(t.ca, 'tls.ca') };
  if (t.cert !== undefined) out.cert = readPem(t.cert, 'tls.cert');
  if (t.key !== undefined) out.key = readPem(t.key, 'tls.key');
  if (t.servername !== undefined) {
    if (typeof t.servername !== 'string') throw new TypeError('connect: tls.servername must be a string');
    out.servername = t.servername;
  }
  return out;
}

export interface OpOptions {
  signal?: AbortSignal;
  group?: number;
}

export interface StatusOptions {
  /** Ask this server ('host:port'); default the server of the current connection. */
  server?: string;
  group?: number;
  signal?: AbortSignal;
}

const MAX_TIMER_MS = 0x7fff_ffff;

/** Canonical 'host:port' (TypeError when malformed). */
export function checkAddress(address: unknown, name = 'server'): string {
  if (typeof address !== 'string') throw new TypeError(`${name} must be a 'host:port' string, got ${typeof address}`);
  return formatHostPort(parseHostPort(address));
}

/** Parse an address from the wire (leader hints): undefined instead of throwing. */
export function tryAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  try {
    return checkAddress(address);
  } catch {
    return undefined;
  }
}

export function checkGroup(value: unknown, name = 'group'): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`${name} must be an integer in [0, 2^32-1], got ${value}`);
  }
  return value;
}

function checkMs(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be a number in (0, ${MAX_TIMER_MS}], got ${value}`);
  }
  return value;
}

function checkPositiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function resolveOptions(options: ConnectOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('connect: options must be an object');
  const { servers } = options;
  if (!Array.isArray(servers)) throw new TypeError('connect: servers must be an array of host:port strings');
  if (servers.length === 0) throw new RangeError('connect: servers must not be empty');
  const unique = [...new Set(servers.map((s, i) => checkAddress(s, `servers[${i}]`)))];
  const requestTimeoutMs = checkMs(options.requestTimeoutMs ?? 5000, 'requestTimeoutMs');
  return {
    servers: unique,
    group: checkGroup(options.group ?? 0),
    requestTimeoutMs,
    deadlineMs: checkMs(options.deadlineMs ?? 15_000, 'deadlineMs'),
    maxInFlight: checkPositiveInt(options.maxInFlight ?? 4096, 'maxInFlight'),
    idempotent: checkBoolean(options.idempotent, 'idempotent'),
    batchAppends: checkBoolean(options.batchAppends, 'batchAppends'),
    connectTimeoutMs: checkMs(options.connectTimeoutMs ?? requestTimeoutMs, 'connectTimeoutMs'),
    ...(options.tls !== undefined ? { tls: resolveTls(options.tls) } : {}),
    ...(options.token !== undefined ? { authFrame: authFrameOf(options.token) } : {}),
    ...(options.clusterUid !== undefined ? { clusterUid: checkClusterUid(options.clusterUid) } : {}),
    ...(options.clusterId !== undefined ? { clusterId: checkClusterName(options.clusterId) } : {}),
  };
}

function checkClusterUid(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{16}$/.test(value)) throw new TypeError(`connect: clusterUid must be 16 lowercase hex digits, got ${JSON.stringify(value)}`);
  return value;
}

function checkClusterName(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError('connect: clusterId must be a non-empty string');
  return value;
}

function authFrameOf(token: unknown): Buffer {
  if (typeof token !== 'string' || token === '') throw new TypeError('connect: token must be a non-empty string');
  return encodeAuthFrame(token);
}

export function checkOpOptions(options: unknown, what: string): OpOptions & { server?: string } {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object`);
  const o = options as { signal?: unknown; group?: unknown; server?: unknown };
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError(`${what}: signal must be an AbortSignal`);
  if (o.group !== undefined) checkGroup(o.group, `${what}: group`);
  if (o.server !== undefined) checkAddress(o.server, `${what}: server`);
  return o as OpOptions & { server?: string };
}

export function checkPayload(payload: unknown, name: string): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return payload;
}

export function checkIndex(index: unknown): number {
  if (typeof index !== 'number') throw new TypeError(`read: index must be a number, got ${typeof index}`);
  if (!Number.isSafeInteger(index) || index < 1) throw new RangeError(`read: index must be a positive safe integer, got ${index}`);
  return index;
}

/** A boolean option that defaults to true. */
function checkBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new TypeError(`connect: ${name} must be a boolean`);
  return value;
}
