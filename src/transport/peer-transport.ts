/**
 * TCP between replicas: one connection per pair of nodes, carrying Raft
 * messages of any number of groups.
 *
 * - The node whose id is smaller (string comparison) dials; the other accepts.
 * - The first frame in each direction is a handshake (handshake.ts): the
 *   dialer sends its own at once, the acceptor answers after checking it.
 *   A wrong cluster id, segment size, target id, an unknown or wrong-direction
 *   node id, or a second connection from a peer already connected is refused
 *   with a Reject frame carrying the reason, and logged on both sides.
 * - The dialer reconnects with exponential backoff and jitter.
 * - Batching and backpressure: send-queue.ts.
 * - Any malformed, oversized or unexpected frame closes that connection with a
 *   logged reason; other connections and the process carry on.
 * - Messages for a peer that is not connected are dropped and counted: Raft
 *   retransmits. Peers come and go at runtime with addPeer/removePeer (membership).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { isRaftLedgerError, RaftLedgerError, fromSystemError } from '../errors.js';
import type { Message } from '../raft/types.js';
import { checkU32 } from './bytes.js';
import { formatHostPort, parseHostPort, type HostPort } from './address.js';
import { AcceptGuard } from './accept-guard.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameKind, FrameReader, type Frame } from './frame.js';
import { decodeHandshake, decodeReject, encodeHandshake, encodeReject, HANDSHAKE_MAX_FRAME_BYTES, NO_CLUSTER_UID } from './handshake.js';
import { decodeRaftMessage, raftFrameSize } from './raft-codec.js';
import { SendQueue } from './send-queue.js';
import { TlsMaterial, type PemBytes, type TlsGate } from './tls.js';
import { handshakeProblem } from './peer-handshake.js';
import { createPeerGate } from './peer-gate.js';
import { RefusalLog } from './refusal-log.js';
import { checkOptions, newLink, transportStats, type Conn, type Link, type PeerTransportOptions, type PeerTransportStats } from './peer-types.js';
import { decodeRepairFrame, encodeRepairFrame } from './repair-frame.js';

export type { PeerTransportOptions, PeerStats, PeerTransportStats } from './peer-types.js';

const MAX_PENDING_INBOUND = 16;
const REFUSE_LINGER_MS = 1000;
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** Reconnect pacing (delays jittered to [d/2, d]); the cap stays under the minimum election timeout, since only the smaller id dials and a restarted peer waits for our next attempt. */
export const DEFAULT_RECONNECT = { initialDelayMs: 50, maxDelayMs: 200 } as const;

export class PeerTransport implements AsyncDisposable {
  readonly #id: string;
  readonly #listen: HostPort;
  readonly #cluster: { clusterId: string; clusterUid: string };
  readonly #segmentSizeBytes: number;
  readonly #maxFrameBytes: number;
  readonly #maxQueuedBytes: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #handshakeTimeoutMs: number;
  readonly #acceptOptions: Pick<PeerTransportOptions, 'acceptBackoff' | 'createServer'>;
  readonly #onMessage: PeerTransportOptions['onMessage'];
  readonly #onRepair: PeerTransportOptions['onRepair'];
  readonly #onPeerUp: ((peer: string) => void) | undefined;
  readonly #onPeerDown: ((peer: string, reason: string) => void) | undefined;
  readonly #log: (line: string) => void;
  readonly #links = new Map<string, Link>();
  readonly #removed = new Set<string>(); // removePeer'd: messages for them are dropped, not refused as unknown
  readonly #conns = new Set<Conn>();
  #server: AcceptGuard | null = null;
  #address: HostPort | null = null;
  #starting: Promise<HostPort> | null = null;
  #started = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  #bytesIn = 0;
  #controlBytesOut = 0;
  #controlFramesIn = 0;
  #protocolErrors = 0;
  #refused = 0;
  readonly #refusedBy = new Map<string, number>();
  readonly #tls: TlsMaterial | null;
  #gate: TlsGate | null = null;
  readonly #floodLog = new RefusalLog((line) => this.#log(line));

  constructor(options: PeerTransportOptions) {
    checkOptions(options);
    this.#id = options.id;
    this.#listen = { host: options.listen.host, port: options.listen.port };
    this.#cluster = { clusterId: options.handshake.clusterId, clusterUid: options.handshake.clusterUid ?? NO_CLUSTER_UID };
    this.#segmentSizeBytes = options.handshake.segmentSizeBytes;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(this.#maxFrameBytes) || this.#maxFrameBytes < HANDSHAKE_MAX_FRAME_BYTES || this.#maxFrameBytes > 0xffff_ffff) {
      throw new RangeError(`maxFrameBytes must be an integer in [${HANDSHAKE_MAX_FRAME_BYTES}, 2^32-1]`);
    }
    this.#maxQueuedBytes = options.maxQueuedBytesPerPeer ?? DEFAULT_MAX_QUEUED_BYTES;
    if (!(this.#maxQueuedBytes > 0)) throw new RangeError('maxQueuedBytesPerPeer must be positive');
    this.#initialDelayMs = options.reconnect?.initialDelayMs ?? DEFAULT_RECONNECT.initialDelayMs;
    this.#maxDelayMs = options.reconnect?.maxDelayMs ?? DEFAULT_RECONNECT.maxDelayMs;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
    this.#acceptOptions = { acceptBackoff: options.acceptBackoff, createServer: options.createServer };
    this.#tls = options.tls === undefined ? null : new TlsMaterial(options.tls);
    this.#onMessage = options.onMessage;
    this.#onRepair = options.onRepair;
    this.#onPeerUp = options.onPeerUp;
    this.#onPeerDown = options.onPeerDown;
    const log = options.log;
    const prefix = options.logPrefix ?? `[transport ${this.#id}] `;
    this.#log = log === undefined ? () => {} : (line) => log(`${prefix}${line}`);
    for (const [id, address] of Object.entries(options.peers)) {
      if (id === this.#id) continue;
      this.#links.set(id, newLink(this.#id, id, address));
    }
  }

  get id(): string {
    return this.#id;
  }

  /** The bound listening address once started, else null. */
  get address(): HostPort | null {
    return this.#address === null ? null : { ...this.#address };
  }

  /** Listen, then dial the peers this node dials. Resolves with the bound address. Idempotent. */
  start(): Promise<HostPort> {
    if (this.#closed) return Promise.reject(new RaftLedgerError('ERR_CLOSED', 'transport is closed'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<HostPort> {
    const material = this.#tls;
    if (material !== null) {
      this.#gate = createPeerGate({
        material,
        handshakeTimeoutMs: this.#handshakeTimeoutMs,
        maxPending: MAX_PENDING_INBOUND,
        pendingAfterGate: () => this.#pendingAfterGate(),
        lingerMs: REFUSE_LINGER_MS,
        refuse: (reason, line) => this.#countRefusal(reason, line),
        floodLog: this.#floodLog,
      });
    }
    const gate = this.#gate;
    // An accept error (EMFILE, ...) pauses accepting for a back-off, logged; it never stops the node.
    const server = new AcceptGuard({
      host: this.#listen.host,
      port: this.#listen.port,
      what: 'Raft port',
      log: this.#log,
      onConnection: (socket) => this.#onInbound(socket),
      serverOptions: { noDelay: true, pauseOnConnect: false },
      backoff: this.#acceptOptions.acceptBackoff,
      createServer: gate !== null ? (onConnection) => gate.attach(onConnection) : this.#acceptOptions.createServer,
    });
    this.#server = server;
    await server.listen().catch((error: unknown) => {
      throw fromSystemError(error, `listen on ${formatHostPort(this.#listen)}`);
    });
    this.#address = server.address;
    if (this.#closed) throw new RaftLedgerError('ERR_CLOSED', 'transport closed while starting');
    this.#started = true;
    this.#log(`listening on ${formatHostPort(this.#address)}`);
    for (const link of this.#links.values()) this.#dial(link);
    return { ...this.#address };
  }

  /**
   * Phase one of a TLS reload: check `pem` (default: the files read again) and return the
   * swap, which cannot fail: the listener's context is replaced and new outbound connections
   * use the new one (established ones keep theirs). Throws ERR_TLS with nothing changed when
   * the material does not load; TypeError without TLS. reloadTls() does both at once.
   */
  prepareTlsReload(pem?: PemBytes): () => void {
    if (this.#tls === null) throw new TypeError('this transport has no TLS');
    const [material, install] = [this.#tls, this.#tls.prepare(pem)];
    return () => {
      install();
      this.#gate?.setSecureContext(material.pem);
      this.#log('TLS material reloaded');
    };
  }

  reloadTls(): void {
    this.prepareTlsReload()();
  }

  /** Count a refusal by reason; `line` (when given) is its log line. */
  #countRefusal(reason: string, line?: string): void {
    this.#refused++;
    this.#refusedBy.set(reason, (this.#refusedBy.get(reason) ?? 0) + 1);
    if (line !== undefined) this.#log(line);
  }

  #pendingAfterGate(): number {
    let pending = 0;
    for (const c of this.#conns) if (c.inbound && !c.established) pending++;
    return pending;
  }

  /** Set or change a peer's 'host:port'. A peer this node dials and that is not connected is dialed at once. */
  setPeerAddress(id: string, address: string): void {
    const link = this.#links.get(id);
    if (link === undefined) throw new TypeError(`unknown peer "${id}"`);
    link.address = parseHostPort(address);
    if (link.dials && link.conn === null && link.dialing === null) {
      if (link.timer !== null) clearTimeout(link.timer);
      link.timer = null;
      link.attempts = 0;
      this.#dial(link);
    }
  }

  /**
   * A new peer at runtime (a member added to a configuration): dialed at once if this node
   * dials it, else accepted from now on. A known peer only gets its address set; `id` itself is ignored.
   */
  addPeer(id: string, address: string): void {
    if (this.#closed || id === this.#id) return;
    if (this.#links.has(id)) {
      if (address !== '') this.setPeerAddress(id, address);
      return;
    }
    const link = newLink(this.#id, id, address);
    this.#removed.delete(id);
    this.#links.set(id, link);
    this.#log(`peer ${id} added${link.address === null ? '' : ` at ${formatHostPort(link.address)}`}`);
    this.#dial(link);
  }

  /**
   * Forget a peer (removed from every configuration this node uses): its connection is
   * closed, it is never dialed again, its handshakes are refused, and messages for it are
   * dropped (send returns false). Idempotent.
   */
  removePeer(id: string): void {
    const link = this.#links.get(id);
    if (link === undefined) return;
    link.removed = true;
    this.#links.delete(id);
    this.#removed.add(id);
    if (link.timer !== null) clearTimeout(link.timer);
    link.timer = null;
    this.#log(`peer ${id} removed`);
    for (const conn of [link.conn, link.dialing]) {
      if (conn === null || conn.done) continue;
      conn.reason = 'peer removed from the configuration';
      conn.done = true;
      conn.socket.destroy();
    }
  }

  /** Ids of the peers this transport knows (added, not removed). */
  get peerIds(): string[] { return [...this.#links.keys()]; } // prettier-ignore

  /**
   * Queue `message` for `message.to`. Returns false when it was dropped (peer
   * not connected, queue full, transport closed). A message that cannot be
   * encoded (unknown peer, bad fields, entry without record, bigger than the
   * frame cap) is a TypeError/RangeError here, never later.
   */
  send(group: number, message: Message): boolean {
    checkU32(group, 'group');
    const link = this.#links.get(message?.to);
    if (link === undefined) {
      if (this.#removed.has(message?.to)) return false; // sent before the core heard of the removal
      throw new TypeError(`unknown peer "${String(message?.to)}"`);
    }
    if (message.from !== this.#id) throw new TypeError(`message.from "${message.from}" is not this node "${this.#id}"`);
    const size = raftFrameSize(message);
    if (size - 4 > this.#maxFrameBytes) {
      throw new RangeError(`message of ${size} bytes exceeds the frame cap of ${this.#maxFrameBytes} bytes`);
    }
    const queue = link.conn?.queue;
    if (queue == null) {
      link.dropped++;
      return false;
    }
    return queue.enqueue(group, message, size);
  }

  /**
   * Write a repair frame (repair-frame.ts: group and a repair-codec message) to `peer` now,
   * outside the Raft send queue. False when the peer is not connected.
   */
  sendRepair(peer: string, group: number, message: Uint8Array): boolean {
    const conn = this.#links.get(peer)?.conn;
    if (conn == null || conn.done) return false;
    const frame = encodeRepairFrame(group, message);
    conn.peer!.bytesOut += frame.length;
    conn.peer!.framesOut++;
    conn.socket.write(frame);
    return true;
  }

  isConnected(peer: string): boolean {
    return this.#links.get(peer)?.conn != null;
  }

  stats(): PeerTransportStats {
    return transportStats(this.#links.values(), {
      bytesIn: this.#bytesIn,
      controlBytesOut: this.#controlBytesOut,
      controlFramesIn: this.#controlFramesIn,
      protocolErrors: this.#protocolErrors,
      refused: this.#refused,
      refusedByReason: Object.fromEntries(this.#refusedBy),
    });
  }

  /** Close every connection and the server. Idempotent; resolves when all sockets are closed. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#starting !== null) await this.#starting.catch(() => {});
    for (const link of this.#links.values()) {
      if (link.timer !== null) clearTimeout(link.timer);
      link.timer = null;
    }
    const closing: Promise<void>[] = [];
    for (const conn of this.#conns) {
      if (conn.reason === '') conn.reason = 'transport closed';
      conn.done = true;
      conn.socket.destroy();
      closing.push(conn.closed);
    }
    const server = this.#server;
    if (server !== null) closing.push(server.close());
    await Promise.all(closing);
    this.#log('closed');
  }

  // ------------------------------------------------------------ connections

  #track(socket: net.Socket, inbound: boolean, peer: Link | null, remote: string): Conn {
    let resolveClosed!: () => void;
    const conn: Conn = {
      socket,
      reader: new FrameReader({ maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES }),
      inbound,
      remote,
      peer,
      established: false,
      done: false,
      queue: null,
      timer: null,
      reason: '',
      closed: new Promise<void>((resolve) => (resolveClosed = resolve)),
    };
    this.#conns.add(conn);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    conn.timer = setTimeout(() => this.#fail(conn, `handshake not completed within ${this.#handshakeTimeoutMs} ms`, false), this.#handshakeTimeoutMs);
    conn.timer.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('error', (error: Error) => {
      if (conn.reason === '') conn.reason = error.message;
    });
    socket.on('end', () => {
      if (conn.reason === '') conn.reason = 'peer closed the connection';
    });
    socket.on('close', () => {
      this.#onClose(conn);
      resolveClosed();
    });
    return conn;
  }

  #describe(conn: Conn): string {
    const who = conn.peer !== null ? `peer ${conn.peer.id}` : 'unidentified peer';
    return `${conn.inbound ? 'inbound' : 'outbound'} connection with ${who} (${conn.remote})`;
  }

  #onInbound(socket: net.Socket): void {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.#closed) {
      socket.destroy();
      return;
    }
    if ((this.#gate?.pending ?? 0) + this.#pendingAfterGate() >= MAX_PENDING_INBOUND) {
      this.#countRefusal('pending_handshakes');
      this.#floodLog.refused(`refusing inbound connection from ${remote}`, `${MAX_PENDING_INBOUND} connections already awaiting a handshake (reason=pending_handshakes)`);
      socket.destroy();
      return;
    }
    this.#track(socket, true, null, remote);
  }

  #dial(link: Link): void {
    if (this.#closed || !this.#started || link.removed || !link.dials || link.conn !== null || link.dialing !== null || link.address === null) return;
    if (link.timer !== null) clearTimeout(link.timer);
    link.timer = null;
    const { host, port } = link.address;
    const material = this.#tls;
    // The node id, not the host name, is checked (in #checkHandshake).
    const socket =
      material === null ? net.connect({ host, port }) : tls.connect({ host, port, secureContext: material.clientContext(), checkServerIdentity: () => undefined });
    const conn = this.#track(socket, false, link, formatHostPort(link.address));
    link.dialing = conn;
    this.#write(conn, encodeHandshake({ ...this.#cluster, segmentSizeBytes: this.#segmentSizeBytes, nodeId: this.#id, targetId: link.id }));
  }

  #scheduleReconnect(link: Link): void {
    if (this.#closed || link.removed || link.timer !== null || link.conn !== null || link.dialing !== null || link.address === null) return;
    const base = Math.min(this.#maxDelayMs, this.#initialDelayMs * 2 ** Math.min(link.attempts, 30));
    const delay = base / 2 + Math.random() * (base / 2);
    link.attempts++;
    link.timer = setTimeout(() => {
      link.timer = null;
      this.#dial(link);
    }, delay);
  }

  #write(conn: Conn, data: Buffer): void {
    this.#controlBytesOut += data.length;
    conn.socket.write(data);
  }

  #onData(conn: Conn, chunk: Buffer): void {
    this.#bytesIn += chunk.length;
    if (conn.established && conn.peer !== null) conn.peer.bytesIn += chunk.length;
    if (conn.done) return;
    try {
      conn.reader.push(chunk);
      for (;;) {
        if (conn.done) return;
        const frame = conn.reader.next();
        if (frame === null) return;
        this.#onFrame(conn, frame);
      }
    } catch (error) {
      if (isRaftLedgerError(error, 'ERR_PROTOCOL')) {
        this.#fail(conn, error.message, true);
      } else {
        // A bug in this module, not the peer's fault; still only this connection pays for it.
        this.#fail(conn, `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, false);
      }
    }
  }

  #onFrame(conn: Conn, frame: Frame): void {
    if (conn.established) {
      if (frame.kind === FrameKind.Repair && this.#onRepair !== undefined) {
        const { group, message } = decodeRepairFrame(frame.body);
        conn.peer!.framesIn++;
        this.#user(() => this.#onRepair!(group, message, conn.peer!.id));
        return;
      }
      if (frame.kind !== FrameKind.Raft) {
        this.#fail(conn, `unexpected frame kind ${frame.kind} after the handshake`, true);
        return;
      }
      const link = conn.peer!;
      const { group, message } = decodeRaftMessage(frame.body);
      if (message.from !== link.id || message.to !== this.#id) {
        this.#fail(conn, `message from "${message.from}" to "${message.to}" on the connection with ${link.id}`, true);
        return;
      }
      link.framesIn++;
      this.#user(() => this.#onMessage(group, message, link.id));
      return;
    }
    this.#controlFramesIn++;
    if (frame.kind === FrameKind.Reject && !conn.inbound) {
      const reason = decodeReject(frame.body);
      this.#refused++;
      this.#fail(conn, `refused by the peer: ${reason}`, false);
      return;
    }
    if (frame.kind !== FrameKind.Handshake) {
      this.#fail(conn, `expected a handshake, got frame kind ${frame.kind}`, true);
      return;
    }
    const hs = decodeHandshake(frame.body);
    const problem = handshakeProblem({ id: this.#id, ...this.#cluster, segmentSizeBytes: this.#segmentSizeBytes, tls: this.#tls !== null, links: this.#links, removed: this.#removed }, conn, hs);
    if (problem !== null) {
      this.#refused++;
      if (conn.inbound) this.#refusedBy.set(problem.reason, (this.#refusedBy.get(problem.reason) ?? 0) + 1);
      if (conn.inbound) this.#refuse(conn, problem.text);
      else this.#fail(conn, `refusing the peer's handshake: ${problem.text}`, false);
      return;
    }
    if (!this.#links.has(hs.nodeId)) this.addPeer(hs.nodeId, ''); // admitted unknown dialer (peer-handshake.ts): no address, never dialed
    const link = this.#links.get(hs.nodeId)!;
    if (conn.inbound) {
      this.#write(conn, encodeHandshake({ ...this.#cluster, segmentSizeBytes: this.#segmentSizeBytes, nodeId: this.#id, targetId: link.id }));
    }
    this.#establish(conn, link);
  }

  #establish(conn: Conn, link: Link): void {
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    conn.peer = link;
    conn.established = true;
    conn.reader.maxFrameBytes = this.#maxFrameBytes;
    const socket = conn.socket;
    conn.queue = new SendQueue(
      {
        get writableLength() {
          return socket.writableLength;
        },
        write: (data) => socket.write(data),
      },
      this.#maxQueuedBytes,
    );
    socket.on('drain', () => conn.queue?.drain());
    if (link.dialing === conn) link.dialing = null;
    link.conn = conn;
    link.attempts = 0;
    link.lastDialError = '';
    link.connects++;
    this.#log(`connected to ${link.id} (${conn.inbound ? 'accepted' : 'dialed'} ${conn.remote})`);
    const onPeerUp = this.#onPeerUp;
    if (onPeerUp !== undefined) this.#user(() => onPeerUp(link.id));
  }

  /** Refuse an inbound handshake: tell the peer why, then close. */
  #refuse(conn: Conn, reason: string): void {
    this.#log(`refusing ${this.#describe(conn)}: ${reason}`);
    conn.reason = reason;
    conn.done = true;
    if (conn.timer !== null) clearTimeout(conn.timer);
    const reject = encodeReject(reason);
    this.#controlBytesOut += reject.length;
    conn.socket.end(reject);
    conn.timer = setTimeout(() => conn.socket.destroy(), REFUSE_LINGER_MS);
    conn.timer.unref();
  }

  /** Close a connection now, logging why. */
  #fail(conn: Conn, reason: string, protocol: boolean): void {
    if (conn.done) return;
    conn.done = true;
    conn.reason = reason;
    if (protocol) this.#protocolErrors++;
    const line = `closing ${this.#describe(conn)}: ${reason}`;
    const link = conn.peer;
    if (!conn.inbound && !conn.established && link !== null) {
      // Dial failures repeat on every retry: log each distinct reason once.
      if (link.lastDialError !== reason) this.#log(line);
      link.lastDialError = reason;
    } else {
      this.#log(line);
    }
    conn.socket.destroy();
  }

  #onClose(conn: Conn): void {
    this.#conns.delete(conn);
    conn.done = true;
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    const link = conn.peer;
    if (link === null) return;
    if (link.dialing === conn) {
      link.dialing = null;
      if (!conn.established && conn.reason !== '' && link.lastDialError !== conn.reason) {
        this.#log(`cannot connect to ${link.id} at ${conn.remote}: ${conn.reason}`);
        link.lastDialError = conn.reason;
      }
    }
    if (link.conn === conn) {
      link.conn = null;
      const q = conn.queue;
      if (q !== null) {
        q.close();
        link.bytesOut += q.bytesOut;
        link.framesOut += q.framesOut;
        link.writes += q.writes;
        link.dropped += q.dropped;
        conn.queue = null;
      }
      const reason = conn.reason || 'connection closed';
      this.#log(`disconnected from ${link.id}: ${reason}`);
      const onPeerDown = this.#onPeerDown;
      if (onPeerDown !== undefined) this.#user(() => onPeerDown(link.id, reason));
    }
    if (link.dials) this.#scheduleReconnect(link);
  }

  /** Run a user callback; an exception is rethrown asynchronously (uncaught, like an EventEmitter listener's) after our state is consistent. */
  #user(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }
}

