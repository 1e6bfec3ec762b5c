/**
 * Repair frames on the peer transport (issue 16): a frame of kind FrameKind.Repair carries
 * one repair request (type 40) or response (type 41) of one Raft group, after the handshake,
 * on the same connection as the group's Raft messages.
 *
 * Body: u32 LE group | the repair message as repair-codec.ts encodes it.
 *
 * Repair frames bypass the Raft send queue (they are rare and not batched); their order
 * relative to Raft frames does not matter. Decoding never trusts the peer: a short body is
 * ERR_PROTOCOL, and the repair message itself is decoded (and bounds-checked) by the
 * receiver with repair-codec.ts.
 */
import { FRAME_HEADER_BYTES, FrameKind, protocolError, writeFrameHeader } from './frame.js';
import { checkU32 } from './bytes.js';

export const REPAIR_GROUP_BYTES = 4;

/** A whole frame (header included) carrying `message` (a repair-codec encoding) for `group`. */
export function encodeRepairFrame(group: number, message: Uint8Array): Buffer {
  checkU32(group, 'group');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + REPAIR_GROUP_BYTES + message.byteLength);
  const at = writeFrameHeader(out, 0, FrameKind.Repair, REPAIR_GROUP_BYTES + message.byteLength);
  out.writeUInt32LE(group, at);
  out.set(message, at + REPAIR_GROUP_BYTES);
  return out;
}

/** The group and the repair message (a view of `body`) of a Repair frame's body. */
export function decodeRepairFrame(body: Buffer): { group: number; message: Buffer } {
  if (body.byteLength < REPAIR_GROUP_BYTES + 1) throw protocolError(`repair frame of ${body.byteLength} bytes is too short`);
  return { group: body.readUInt32LE(0), message: body.subarray(REPAIR_GROUP_BYTES) };
}

/** The first byte of a repair message: its type (40 request, 41 response). */
export function repairMessageType(message: Uint8Array): number {
  return message[0] ?? 0;
}
