/**
 * The Raft port's TLS gate (tls.ts createTlsGate) with the transport's refusals: a
 * plaintext connection gets a plaintext Reject frame, a certificate that is missing or not
 * signed by the cluster CA a Reject over TLS, and both are closed after a linger. Every
 * refusal is counted by reason (plaintext, tls, pending_handshakes) through `refuse`.
 *
 * Flood guard: the pending-handshake cap (`maxPending`) counts connections still in the
 * gate (no first byte yet, or a TLS handshake under way) plus those the transport holds
 * before their Raft handshake (`pendingAfterGate`); a connection past it is destroyed on
 * accept, before any TLS work is spent on it.
 */
import type * as net from 'node:net';
import { encodeReject } from './handshake.js';
import { createTlsGate, type TlsGate, type TlsMaterial } from './tls.js';
import type { RefusalLog } from './refusal-log.js';

export interface PeerGateOptions {
  material: TlsMaterial;
  handshakeTimeoutMs: number;
  maxPending: number;
  /** Inbound connections past the gate whose Raft handshake is not done. */
  pendingAfterGate(): number;
  lingerMs: number;
  /** Count one refusal by reason and log its line. */
  refuse(reason: string, line: string): void;
  /** Where refusals at the cap are logged (rate-limited). */
  floodLog: RefusalLog;
}

export function createPeerGate(o: PeerGateOptions): TlsGate {
  const end = (socket: net.Socket, reason: string): void => {
    socket.end(encodeReject(reason));
    setTimeout(() => socket.destroy(), o.lingerMs).unref();
  };
  return createTlsGate({
    material: o.material,
    requestCert: true,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    onSecure: () => {},
    onPlaintext: (socket, remote) => {
      o.refuse('plaintext', `refusing inbound connection from ${remote}: plaintext connection to the TLS Raft port (reason=plaintext)`);
      socket.resume();
      end(socket, 'this Raft port requires TLS');
    },
    onTlsError: (remote, reason) => o.refuse('tls', `refusing inbound connection from ${remote}: ${reason} (reason=tls)`),
    onUnauthorized: (socket, remote, reason) => {
      o.refuse('tls', `refusing inbound connection from ${remote}: ${reason} (reason=tls)`);
      end(socket, reason);
    },
    admit: (inGate) => inGate + o.pendingAfterGate() < o.maxPending,
    onOverCap: (remote) => {
      o.refuse('pending_handshakes', '');
      o.floodLog.refused(`refusing inbound connection from ${remote}`, `${o.maxPending} connections already awaiting a handshake (reason=pending_handshakes)`);
    },
  });
}
