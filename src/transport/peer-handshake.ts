/**
 * The checks of a peer's handshake, on either side of a connection (peer-transport.ts):
 * the cluster name and uid (replica/cluster-id.ts) and segment size must match, the handshake must name this node, an inbound
 * peer must be a not removed, accepting member without a live connection (one this node does
 * not know yet is admitted when it is the dialer of the pair: a newer member, maybe the
 * leader, that this node can learn of only from the log), and an outbound one must be the
 * node dialed. With TLS, the certificate must name the claimed node.
 */
import type * as tls from 'node:tls';
import type { Handshake } from './handshake.js';
import { identityProblem } from './tls.js';
import type { Conn, Link } from './peer-types.js';

export interface HandshakeContext {
  id: string;
  clusterId: string;
  clusterUid: string;
  segmentSizeBytes: number;
  /** Whether the connection is TLS (then the peer certificate is checked). */
  tls: boolean;
  links: ReadonlyMap<string, Link>;
  removed: ReadonlySet<string>;
}

/** Null when acceptable, else why to refuse (`reason` is the metrics label, `text` the log line). */
export function handshakeProblem(ctx: HandshakeContext, conn: Conn, hs: Handshake): { reason: string; text: string } | null {
  if (ctx.tls) {
    const identity = identityProblem((conn.socket as tls.TLSSocket).getPeerCertificate(), hs.nodeId);
    if (identity !== null) return { reason: 'identity', text: `${identity} (reason=identity)` };
  }
  const cluster = clusterProblem(ctx, hs);
  if (cluster !== null) return { reason: 'cluster', text: cluster };
  const text = fieldProblem(ctx, conn, hs);
  return text === null ? null : { reason: 'handshake', text };
}

/** Another cluster: a node bootstrapped from other --peers (or another directory) must never be let in. */
function clusterProblem(ctx: HandshakeContext, hs: Handshake): string | null {
  if (hs.clusterUid !== ctx.clusterUid) {
    return `cluster mismatch: node "${hs.nodeId}" belongs to cluster ${hs.clusterUid}, this node ("${ctx.id}") to cluster ${ctx.clusterUid} (bootstrapped from another --peers list, or another --cluster-id; a new member joins with --join)`;
  }
  if (hs.clusterId !== ctx.clusterId) return `cluster id mismatch: "${hs.clusterId}" is not "${ctx.clusterId}"`;
  return null;
}

function fieldProblem(ctx: HandshakeContext, conn: Conn, hs: Handshake): string | null {
  if (hs.segmentSizeBytes !== ctx.segmentSizeBytes) return `segment size mismatch: ${hs.segmentSizeBytes} is not ${ctx.segmentSizeBytes}`;
  if (hs.targetId !== ctx.id) return `this is node "${ctx.id}", not "${hs.targetId}"`;
  if (conn.inbound) {
    const link = ctx.links.get(hs.nodeId);
    if (link === undefined) {
      if (ctx.removed.has(hs.nodeId)) return `node "${hs.nodeId}" was removed from the configuration`;
      // A member this node's configuration does not name yet (it joined after the
      // configuration this node holds; it may lead now) and that dials this node: admitted,
      // so that this node can learn of it from the log. Same cluster uid, checked above.
      if (hs.nodeId < ctx.id) return null;
      return `unknown node id "${hs.nodeId}" (a larger id: this node would dial it, and does not know its address)`;
    }
    if (link.dials) return `node "${hs.nodeId}" must accept, not dial (the smaller id dials)`;
    if (link.conn !== null) return `duplicate connection: node "${hs.nodeId}" is already connected`;
  } else if (hs.nodeId !== conn.peer!.id) {
    return `expected node "${conn.peer!.id}" at ${conn.remote}, found "${hs.nodeId}"`;
  }
  return null;
}
