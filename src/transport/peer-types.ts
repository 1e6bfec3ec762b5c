/**
 * PeerTransport's option and statistics types, the per-peer link and per-connection
 * state it keeps, and its option checks (peer-transport.ts re-exports the public types).
 */
import type * as net from 'node:net';
import type { Message } from '../raft/types.js';
import { formatHostPort, parseHostPort, type HostPort } from './address.js';
import type { AcceptBackoff, AcceptGuardOptions } from './accept-guard.js';
import type { FrameReader } from './frame.js';
import type { SendQueue } from './send-queue.js';
import type { TlsFiles } from './tls.js';

export interface PeerTransportOptions {
  /** This node's id (1..255 UTF-8 bytes). */
  id: string;
  /** Where to listen. Port 0 picks a free port: read it from start() or `address`. */
  listen: HostPort;
  /** Every other node: id -> 'host:port' ('' when not yet known; see setPeerAddress). */
  peers: Record<string, string>;
  /** clusterUid: default NO_CLUSTER_UID (replica/cluster-id.ts); peers must send the same. */
  handshake: { clusterId: string; clusterUid?: string; segmentSizeBytes: number };
  /** Cap on a frame's length field; default 64 MiB + 1 KiB. */
  maxFrameBytes?: number;
  /** Cap on bytes queued for one peer (here and in the socket); default 64 MiB. */
  maxQueuedBytesPerPeer?: number;
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  /** A connection that has not completed its handshake by then is closed; default 5000. */
  handshakeTimeoutMs?: number;
  /** Pause after an accept error (EMFILE, ...): default 100 ms doubling to 5 s (accept-guard.ts). */
  acceptBackoff?: AcceptBackoff;
  /** Test seam: builds the listening net.Server (ignored with `tls`). */
  createServer?: AcceptGuardOptions['createServer'];
  /**
   * Mutual TLS on the Raft port and on every connection this node dials (tls.ts): the peer's
   * certificate must be signed by `ca` and name the node id it claims. Absent: plaintext.
   */
  tls?: TlsFiles;
  onMessage(group: number, message: Message, from: string): void;
  /** A repair frame's group and repair-codec message (a view of the frame; repair-frame.ts). Absent: repair frames close the connection as unexpected. */
  onRepair?(group: number, message: Buffer, from: string): void;
  onPeerUp?(peer: string): void;
  onPeerDown?(peer: string, reason: string): void;
  log?(line: string): void;
  /** Put before every log line (default '[transport ID] '); a caller that prefixes its own passes ''. */
  logPrefix?: string;
}

export interface PeerStats {
  address: string | null;
  connected: boolean;
  /** How the current connection was made: this node dialed it or accepted it; null when not connected. */
  direction: 'dialed' | 'accepted' | null;
  /** Bytes waiting for this peer (not yet encoded, or buffered in the socket). */
  queuedBytes: number;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  /** socket.write calls for Raft traffic (framesOut / writes is the batching factor). */
  writes: number;
  /** Messages dropped: peer not connected, queue over its cap, or pending when the connection closed. */
  dropped: number;
  /** Connections established so far. */
  connects: number;
}

export interface PeerTransportStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  dropped: number;
  /** Connections closed for a malformed, oversized or unexpected frame. */
  protocolErrors: number;
  /** Handshakes refused (by this node, or by the peer it dialed). */
  refused: number;
  /** Inbound connections refused, by reason: plaintext, tls (handshake failed: wrong CA, no certificate), identity, handshake. */
  refusedByReason: Record<string, number>;
  peers: Record<string, PeerStats>;
}

/** One peer: its address, its connection (or the one being dialed), reconnect state and counters. */
export interface Link {
  readonly id: string;
  /** This node dials this peer (its id is smaller). */
  readonly dials: boolean;
  /** Forgotten by removePeer: never dialed again, its connection is closing. */
  removed: boolean;
  address: HostPort | null;
  conn: Conn | null;
  dialing: Conn | null;
  timer: NodeJS.Timeout | null;
  attempts: number;
  lastDialError: string;
  bytesIn: number;
  framesIn: number;
  /** Totals of queues that are gone. */
  bytesOut: number;
  framesOut: number;
  writes: number;
  dropped: number;
  connects: number;
}

/** One TCP connection, before and after its handshake. */
export interface Conn {
  readonly socket: net.Socket;
  readonly reader: FrameReader;
  readonly inbound: boolean;
  readonly remote: string;
  peer: Link | null;
  established: boolean;
  /** No more frames are processed (failing, refusing or closed). */
  done: boolean;
  queue: SendQueue | null;
  timer: NodeJS.Timeout | null;
  reason: string;
  readonly closed: Promise<void>;
}

/** TypeError/RangeError for options PeerTransport cannot run with. */
export function checkOptions(o: PeerTransportOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (typeof o.id !== 'string' || o.id === '' || Buffer.byteLength(o.id) > 255) throw new TypeError('id must be 1..255 UTF-8 bytes');
  if (typeof o.listen?.host !== 'string') throw new TypeError('listen.host must be a string');
  if (!Number.isInteger(o.listen.port) || o.listen.port < 0 || o.listen.port > 65535) throw new RangeError('listen.port must be 0..65535');
  if (typeof o.peers !== 'object' || o.peers === null) throw new TypeError('peers must be an object');
  if (typeof o.handshake?.clusterId !== 'string' || o.handshake.clusterId === '') throw new TypeError('handshake.clusterId must be a non-empty string');
  if (o.handshake.clusterUid !== undefined && (typeof o.handshake.clusterUid !== 'string' || o.handshake.clusterUid === '')) throw new TypeError('handshake.clusterUid must be a non-empty string');
  if (!Number.isSafeInteger(o.handshake.segmentSizeBytes) || o.handshake.segmentSizeBytes <= 0) {
    throw new RangeError('handshake.segmentSizeBytes must be a positive integer');
  }
  if (typeof o.onMessage !== 'function') throw new TypeError('onMessage must be a function');
  const r = o.reconnect;
  if (r !== undefined && !(r.initialDelayMs > 0 && r.maxDelayMs >= r.initialDelayMs)) {
    throw new RangeError('reconnect needs 0 < initialDelayMs <= maxDelayMs');
  }
}

/** A link to peer `id` of node `self` ('' address: not known yet). TypeError for a bad id, RangeError/TypeError for a bad address. */
export function newLink(self: string, id: string, address: string): Link {
  if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > 255) throw new TypeError(`peer id "${String(id)}" must be 1..255 UTF-8 bytes`);
  return {
    id,
    dials: self < id,
    removed: false,
    address: address === '' ? null : parseHostPort(address),
    conn: null,
    dialing: null,
    timer: null,
    attempts: 0,
    lastDialError: '',
    bytesIn: 0,
    framesIn: 0,
    bytesOut: 0,
    framesOut: 0,
    writes: 0,
    dropped: 0,
    connects: 0,
  };
}

/** The transport's counters: its own (`own`) plus every link's and its live queue's. */
export function transportStats(
  links: Iterable<Link>,
  own: { bytesIn: number; controlBytesOut: number; controlFramesIn: number; protocolErrors: number; refused: number; refusedByReason: Record<string, number> },
): PeerTransportStats {
  const peers: Record<string, PeerStats> = {};
  let bytesOut = own.controlBytesOut;
  let framesOut = 0;
  let framesIn = own.controlFramesIn;
  let dropped = 0;
  for (const link of links) {
    const q = link.conn?.queue ?? null;
    const s: PeerStats = {
      address: link.address === null ? null : formatHostPort(link.address),
      connected: link.conn !== null,
      direction: link.conn === null ? null : link.conn.inbound ? 'accepted' : 'dialed',
      queuedBytes: q?.queuedBytes ?? 0,
      bytesIn: link.bytesIn,
      bytesOut: link.bytesOut + (q?.bytesOut ?? 0),
      framesIn: link.framesIn,
      framesOut: link.framesOut + (q?.framesOut ?? 0),
      writes: link.writes + (q?.writes ?? 0),
      dropped: link.dropped + (q?.dropped ?? 0),
      connects: link.connects,
    };
    peers[link.id] = s;
    bytesOut += s.bytesOut;
    framesOut += s.framesOut;
    framesIn += s.framesIn;
    dropped += s.dropped;
  }
  return { bytesIn: own.bytesIn, bytesOut, framesIn, framesOut, dropped, protocolErrors: own.protocolErrors, refused: own.refused, refusedByReason: own.refusedByReason, peers };
}
