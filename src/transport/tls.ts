/**
 * TLS for the Raft port and the client port (node:tls), and the checks that go with it.
 *
 * Material (TlsFiles): `cert`, `key`, `ca`. A string is a file path, read at open and read
 * again by every reload(); a Uint8Array is the PEM bytes themselves (a reload keeps them).
 * reload() builds the new context first: if any file is unreadable or the PEM does not
 * load, it throws ERR_TLS and the old material stays in force.
 *
 * Identity of a peer (mutual TLS on the Raft port): its certificate must be signed by the
 * cluster CA (`ca`), and one of its names must equal the node id it claims in the
 * transport handshake. A certificate's names are its subjectAltName DNS entries, its URI
 * entries, and its subject CN (certificateNames). Host names and IP addresses of peers are
 * not checked: the node id is the identity.
 *
 * A TLS port takes a plaintext connection apart from a TLS one by its first byte (a TLS
 * record of a ClientHello starts with 0x16; a raftledger frame starts with the low byte of
 * its length). A plaintext connection is answered in plaintext (a Reject frame or a
 * connection notice, by the caller's `onPlaintext`) and closed; it never gets a TLS socket.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { RaftLedgerError } from '../errors.js';
import { FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from './frame.js';

export interface TlsFiles {
  /** This node's certificate chain (PEM): a path, or the bytes. */
  cert: string | Uint8Array;
  /** Its private key (PEM): a path, or the bytes. */
  key: string | Uint8Array;
  /** The CA certificate(s) that sign the cluster's (and, with client auth, the clients') certificates. */
  ca: string | Uint8Array;
}

export interface TlsPem {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** TlsPem after a thread hop (structured clone turns Buffers into plain Uint8Arrays). */
export interface PemBytes {
  cert: Uint8Array;
  key: Uint8Array;
  ca: Uint8Array;
}

/** First byte of a TLS handshake record. */
const TLS_HANDSHAKE_RECORD = 0x16;

function tlsError(message: string, cause?: unknown): RaftLedgerError {
  return new RaftLedgerError('ERR_TLS', message, cause !== undefined ? { cause } : {});
}

/** TypeError for a TlsFiles that is not one. */
export function checkTlsFiles(files: unknown, name = 'tls'): TlsFiles {
  if (files === null || typeof files !== 'object') throw new TypeError(`${name} must be an object { cert, key, ca }`);
  const f = files as Record<string, unknown>;
  for (const k of ['cert', 'key', 'ca']) {
    const v = f[k];
    if (!(typeof v === 'string' && v !== '') && !(v instanceof Uint8Array)) throw new TypeError(`${name}.${k} must be a file path or PEM bytes (Uint8Array)`);
  }
  return { cert: f.cert as string | Uint8Array, key: f.key as string | Uint8Array, ca: f.ca as string | Uint8Array };
}

function readPem(source: string | Uint8Array, what: string): Buffer {
  if (typeof source !== 'string') return Buffer.from(source);
  try {
    return readFileSync(source);
  } catch (error) {
    throw tlsError(`cannot read the TLS ${what} file ${source}: ${(error as Error).message}`, error);
  }
}

/** The files read and checked: a context is built from them, so bad PEM fails here. */
export function loadTlsPem(files: TlsFiles): TlsPem {
  return checkTlsPem({ cert: readPem(files.cert, 'certificate'), key: readPem(files.key, 'key'), ca: readPem(files.ca, 'CA') });
}

/**
 * PEM bytes from elsewhere (another thread's loadTlsPem: structured clone makes them plain
 * Uint8Arrays) as Buffers, checked by building a context from them; ERR_TLS when they do not load.
 */
export function checkTlsPem(pem: PemBytes): TlsPem {
  const out = { cert: Buffer.from(pem.cert), key: Buffer.from(pem.key), ca: Buffer.from(pem.ca) };
  try {
    tls.createSecureContext(out);
  } catch (error) {
    throw tlsError(`TLS material does not load: ${(error as Error).message}`, error);
  }
  return out;
}

/**
 * What a reload installs, read once by the thread that starts it and handed to every part
 * (client ports, Raft transports, on any thread): the TLS PEM and the client token.
 * Structured-cloneable.
 */
export interface ReloadMaterial {
  tls?: PemBytes;
  token?: Uint8Array;
}

/** A node's TLS material; a reload swaps it whole or not at all. */
export class TlsMaterial {
  readonly #files: TlsFiles;
  #pem: TlsPem;
  #clientContext: tls.SecureContext | undefined;

  constructor(files: TlsFiles) {
    this.#files = checkTlsFiles(files);
    this.#pem = loadTlsPem(this.#files);
  }

  get pem(): TlsPem {
    return this.#pem;
  }

  /** The context for connections this node dials (rebuilt after a reload). */
  clientContext(): tls.SecureContext {
    this.#clientContext ??= tls.createSecureContext(this.#pem);
    return this.#clientContext;
  }

  /** The files read again and checked (ERR_TLS when they do not load); nothing is swapped. */
  load(): TlsPem {
    return loadTlsPem(this.#files);
  }

  /**
   * Phase one of a reload: check `pem` (default: the files read again) and return the swap,
   * which cannot fail. Throws ERR_TLS, with nothing changed, when the material does not load.
   */
  prepare(pem: PemBytes = this.load()): () => void {
    const checked = checkTlsPem(pem);
    return () => {
      this.#pem = checked;
      this.#clientContext = undefined;
    };
  }

  /** Read the files again; on any failure throw ERR_TLS and keep the old material. */
  reload(): void {
    this.prepare()();
  }
}

/** The names a certificate is known by: SAN DNS and URI entries, then the subject CN. */
export function certificateNames(cert: tls.PeerCertificate | Record<string, never> | null | undefined): string[] {
  if (cert === null || cert === undefined) return [];
  const names: string[] = [];
  const san = (cert as tls.PeerCertificate).subjectaltname;
  if (typeof san === 'string') {
    for (const part of san.split(',')) {
      const m = /^\s*(DNS|URI):(.*)$/.exec(part);
      if (m !== null) names.push(m[2]!.trim());
    }
  }
  const cn = (cert as tls.PeerCertificate).subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  return names;
}

/** Null when `cert` names `nodeId` (see the file comment), else why not. */
export function identityProblem(cert: tls.PeerCertificate | Record<string, never> | null | undefined, nodeId: string): string | null {
  const names = certificateNames(cert);
  if (names.includes(nodeId)) return null;
  return `certificate names ${names.length === 0 ? 'nothing' : names.map((n) => `"${n}"`).join(', ')}, not node "${nodeId}"`;
}

/** Constant-time comparison of two secrets of any lengths (equal-length SHA-256 digests are compared). */
export function tokensEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** A token file's token: its contents without surrounding whitespace; ERR_BAD_CONFIG when unreadable or empty. */
export function readTokenFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RaftLedgerError('ERR_BAD_CONFIG', `cannot read the token file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const token = text.trim();
  if (token === '') throw new RaftLedgerError('ERR_BAD_CONFIG', `the token file ${path} is empty`);
  return Buffer.from(token, 'utf8');
}

/** True for an error of the TLS layer (handshake alert, certificate verification), as opposed to a plain socket error. */
export function isTlsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('CERT_') ||
    code.includes('_CERT') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'EPROTO'
  );
}

/** The client's auth frame (server/client-auth.ts has the protocol): frame kind ClientAuth, body the token. */
export const MAX_TOKEN_BYTES = 1024;

/** The ClientAuth frame carrying `token`. */
export function encodeAuthFrame(token: string | Uint8Array): Buffer {
  const body = typeof token === 'string' ? Buffer.from(token, 'utf8') : Buffer.from(token);
  if (body.length === 0 || body.length > MAX_TOKEN_BYTES) throw new RangeError(`token must be 1..${MAX_TOKEN_BYTES} bytes`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  body.copy(out, writeFrameHeader(out, 0, FrameKind.ClientAuth, body.length));
  return out;
}

export interface TlsGateOptions {
  material: TlsMaterial;
  /** Ask for and verify the other side's certificate against `ca` (mutual TLS). */
  requestCert: boolean;
  handshakeTimeoutMs: number;
  /** A connection whose TLS handshake succeeded. */
  onSecure(socket: tls.TLSSocket): void;
  /** A plaintext connection (first byte not a TLS record): answer it (plaintext) and end it. */
  onPlaintext(socket: net.Socket, remote: string): void;
  /** A TLS handshake that failed (bad record, timeout, ...): already being destroyed. */
  onTlsError(remote: string, reason: string): void;
  /**
   * With requestCert: the handshake completed but the other side's certificate is missing or
   * not signed by `ca`. The socket is never handed to onSecure: answer it over TLS (so the
   * other side learns why) and end it.
   */
  onUnauthorized(socket: tls.TLSSocket, remote: string, reason: string): void;
  /**
   * Flood guard. A connection is pending from its accept until it is handed on (onSecure,
   * onPlaintext, onUnauthorized) or closed: no first byte yet, or a TLS handshake under
   * way. Each new connection is admitted when admit(pending before it) is true; otherwise
   * it is destroyed at once and reported to onOverCap. Absent: every connection is admitted.
   */
  admit?(pendingHandshakes: number): boolean;
  onOverCap?(remote: string): void;
}

export interface TlsGate {
  server: net.Server;
  setSecureContext(pem: TlsPem): void;
  /** Connections accepted and not yet handed on (see TlsGateOptions.admit). */
  readonly pending: number;
  attach(onConnection: (socket: net.Socket) => void): net.Server;
}

/**
 * A listening net.Server (for AcceptGuard's createServer seam) that sorts connections into
 * plaintext and TLS, and a setSecureContext for reloads.
 */
export function createTlsGate(options: TlsGateOptions): TlsGate {
  const tlsServer = new tls.Server({
    ...options.material.pem,
    requestCert: options.requestCert,
    // Verified below, before the socket is handed on: a refused peer gets told why.
    rejectUnauthorized: false,
    handshakeTimeout: options.handshakeTimeoutMs,
  });
  let accepted: (socket: net.Socket) => void = (socket) => options.onSecure(socket as tls.TLSSocket);
  // The raw socket a TLS socket wraps, by its remote address (gone once the socket is destroyed).
  const remotes = new WeakMap<object, string>();
  const parentOf = (socket: tls.TLSSocket): object | undefined => (socket as unknown as { _parent?: object })._parent;
  const remoteOfTls = (socket: tls.TLSSocket): string => {
    const parent = parentOf(socket);
    return (parent !== undefined ? remotes.get(parent) : undefined) ?? remoteOf(socket);
  };
  // Raw sockets accepted and not yet handed on; a raw socket's 'close' also fires when the TLS socket over it closes.
  const pending = new Set<object>();
  tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
    const parent = parentOf(socket);
    if (parent !== undefined) pending.delete(parent);
    if (options.requestCert && !socket.authorized) {
      socket.on('error', () => {});
      options.onUnauthorized(socket, remoteOfTls(socket), `TLS certificate refused: ${String(socket.authorizationError ?? 'no certificate')}`);
      return;
    }
    accepted(socket);
  });
  tlsServer.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
    const remote = remoteOfTls(socket);
    // A certificate that fails verification ends the handshake without saying why in `error`.
    const why = typeof socket.authorizationError === 'string' || socket.authorizationError instanceof Error ? `certificate refused: ${String(socket.authorizationError)}` : error.message;
    socket.destroy();
    options.onTlsError(remote, `TLS handshake failed: ${why.replace(/\s+/g, ' ')}`);
  });
  const sort = (raw: net.Socket): void => {
    const remote = remoteOf(raw);
    raw.on('error', () => {}); // a reset before the first byte costs only this socket
    if (options.admit !== undefined && !options.admit(pending.size)) {
      raw.destroy();
      options.onOverCap?.(remote);
      return;
    }
    remotes.set(raw, remote);
    pending.add(raw);
    raw.once('close', () => pending.delete(raw));
    const timer = setTimeout(() => raw.destroy(), options.handshakeTimeoutMs);
    timer.unref();
    raw.once('close', () => clearTimeout(timer));
    raw.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      raw.pause();
      raw.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        tlsServer.emit('connection', raw);
      } else {
        pending.delete(raw);
        options.onPlaintext(raw, remote);
      }
    });
  };
  const server = net.createServer({ noDelay: true }, sort);
  return {
    server,
    setSecureContext: (pem) => tlsServer.setSecureContext(pem),
    get pending() {
      return pending.size;
    },
    /** For AcceptGuard: route secure connections through its onConnection (which resets its back-off). */
    attach(onConnection) {
      accepted = onConnection;
      return server;
    },
  };
}

export function remoteOf(socket: net.Socket): string {
  const host = socket.remoteAddress ?? '?';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? '?'}`;
}
