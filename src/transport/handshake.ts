/**
 * The first frame in each direction of a peer connection, and the frame a
 * peer sends when it refuses one.
 *
 * Handshake body (frame kind Handshake = 1):
 *
 *   off  size  field
 *   0    1     transportVersion  TRANSPORT_VERSION (2: Raft answers carry the log epoch; 3: logStart/logStartResp;
 *                                  4: heartbeat read flag; 5: the clusterUid field, and it also covers the repair
 *                                  frame kind 40 and the membership messages (log start flag bit 4, Config
 *                                  entries to new peers) and the log start's producer base (flag bit 6) that were
 *                                  added without a bump; 6: the append's commit-only flag, bit 5)
 *   1    8     segmentSizeBytes  u64; replicas must agree (entries keep their pos)
 *   9    1+n   clusterId         u8 length (1..255) + UTF-8: the cluster name (--cluster-id; per worker, placement.ts)
 *   ..   1+u   clusterUid        u8 length (1..64) + ASCII: the cluster uid (replica/cluster-id.ts); must match
 *   ..   1+m   nodeId            u8 length (1..255) + UTF-8: the sender
 *   ..   1+k   targetId          u8 length (1..255) + UTF-8: who the sender thinks it reached
 *
 * Reject body (frame kind Reject = 2): UTF-8 reason, at most 1024 bytes.
 */
import { checkU64, putStr8, putU64, shortUtf8, WireReader, decodeUtf8 } from './bytes.js';
import { FRAME_HEADER_BYTES, FrameKind, protocolError, writeFrameHeader } from './frame.js';

export const TRANSPORT_VERSION = 6;
/** The cluster uid of a transport given none (tests that build transports directly). */
export const NO_CLUSTER_UID = '0000000000000000';
export const MAX_REJECT_REASON_BYTES = 1024;
/** Cap on the length field of frames accepted before a handshake completes. */
export const HANDSHAKE_MAX_FRAME_BYTES = 2048;

export interface Handshake {
  transportVersion: number;
  segmentSizeBytes: number;
  clusterId: string;
  /** The cluster uid (replica/cluster-id.ts): fixed at bootstrap, stored in every member's directory. */
  clusterUid: string;
  nodeId: string;
  targetId: string;
}

/** `clusterUid` defaults to NO_CLUSTER_UID. */
export function encodeHandshake(h: Omit<Handshake, 'transportVersion' | 'clusterUid'> & { clusterUid?: string }): Buffer {
  const cluster = shortUtf8(h.clusterId, 'clusterId');
  const uid = shortUtf8(h.clusterUid ?? NO_CLUSTER_UID, 'clusterUid');
  if (uid.length > 64) throw new RangeError('clusterUid must be at most 64 bytes');
  const node = shortUtf8(h.nodeId, 'nodeId');
  const target = shortUtf8(h.targetId, 'targetId');
  const bodyBytes = 1 + 8 + 4 + cluster.length + uid.length + node.length + target.length;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  let o = writeFrameHeader(out, 0, FrameKind.Handshake, bodyBytes);
  out[o++] = TRANSPORT_VERSION;
  o = putU64(out, o, checkU64(h.segmentSizeBytes, 'segmentSizeBytes'));
  o = putStr8(out, o, cluster);
  o = putStr8(out, o, uid);
  o = putStr8(out, o, node);
  putStr8(out, o, target);
  return out;
}

export function decodeHandshake(body: Buffer): Handshake {
  const r = new WireReader(body, 'handshake');
  const transportVersion = r.u8('transportVersion');
  if (transportVersion !== TRANSPORT_VERSION) {
    throw protocolError(`handshake: transport version ${transportVersion} (expected ${TRANSPORT_VERSION})`);
  }
  const segmentSizeBytes = r.u64('segmentSizeBytes');
  const clusterId = r.str8('clusterId', 1);
  const clusterUid = r.str8('clusterUid', 1);
  if (Buffer.byteLength(clusterUid) > 64) throw protocolError(`handshake: clusterUid is longer than 64 bytes`);
  const nodeId = r.str8('nodeId', 1);
  const targetId = r.str8('targetId', 1);
  r.end();
  return { transportVersion, segmentSizeBytes, clusterId, clusterUid, nodeId, targetId };
}

export function encodeReject(reason: string): Buffer {
  let bytes = Buffer.from(reason, 'utf8');
  if (bytes.length > MAX_REJECT_REASON_BYTES) {
    let cut = MAX_REJECT_REASON_BYTES;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bytes.length);
  out.set(bytes, writeFrameHeader(out, 0, FrameKind.Reject, bytes.length));
  return out;
}

export function decodeReject(body: Buffer): string {
  if (body.length > MAX_REJECT_REASON_BYTES) throw protocolError(`reject reason is ${body.length} bytes (cap ${MAX_REJECT_REASON_BYTES})`);
  return decodeUtf8(body, 'reject reason');
}
