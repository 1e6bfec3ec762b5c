/**
 * The client protocol's membership requests (ops 30-39, response kinds 30-39; the frame
 * layout is client-codec.ts's, which hands these ops and kinds to this module).
 *
 * Requests (after id u32, group u32, op u8):
 *   30 members        nothing: the configuration in force on the server
 *   31 changeMembers  u8 type (1 addLearner, 2 promote, 3 remove), u8 flags (bit 0 force;
 *                     other bits 0), u8 length (1..255) + member id,
 *                     u16 length + address ('host:raftPort[/clientPort]'; empty unless addLearner)
 * Response kinds (after id u32, kind u8):
 *   30 members        u32 length (<= 1 MiB) + UTF-8 JSON text of an object (replica/membership.ts
 *                     MembersView): the answer to both ops (changeMembers: once committed)
 */
import { checkU32, putStr8, shortUtf8, type WireReader } from './bytes.js';
import { protocolError } from './frame.js';

export const MEMBER_OPS = { members: 30, changeMembers: 31 } as const;
export const MEMBER_KINDS = { members: 30 } as const;
const MAX_MEMBERS_BYTES = 1024 * 1024;
const MAX_ADDRESS_BYTES = 1024;
const CHANGE_TYPES = ['addLearner', 'promote', 'remove'] as const;
const FLAG_FORCE = 1;

export type WireChangeType = (typeof CHANGE_TYPES)[number];
export interface WireMemberChange {
  type: WireChangeType;
  id: string;
  address?: string;
  force?: boolean;
}

export type MemberRequest = { id: number; group: number; op: 'members' } | { id: number; group: number; op: 'changeMembers'; change: WireMemberChange };
export type MemberResponse = { id: number; kind: 'members'; members: Record<string, unknown> };

/** The bytes of a membership request after the op byte (the caller writes id, group and op). */
export function encodeMemberRequestBody(request: MemberRequest): Buffer {
  if (request.op === 'members') return Buffer.alloc(0);
  const c = request.change;
  if (c === null || typeof c !== 'object' || !CHANGE_TYPES.includes(c.type)) throw new TypeError(`changeMembers: type must be one of ${CHANGE_TYPES.join(', ')}`);
  const id = shortUtf8(c.id, 'change.id');
  const address = Buffer.from(c.address ?? '', 'utf8');
  if (address.byteLength > MAX_ADDRESS_BYTES) throw new RangeError(`changeMembers: address is longer than ${MAX_ADDRESS_BYTES} bytes`);
  const out = Buffer.alloc(2 + 1 + id.byteLength + 2 + address.byteLength);
  out[0] = CHANGE_TYPES.indexOf(c.type) + 1;
  out[1] = c.force === true ? FLAG_FORCE : 0;
  let o = putStr8(out, 2, id);
  out.writeUInt16LE(address.byteLength, o);
  out.set(address, o + 2);
  o += 2 + address.byteLength;
  return out;
}

/** A membership request's fields from `r` (positioned after the op byte); undefined for an op that is not one. */
export function decodeMemberRequest(id: number, group: number, op: number, r: WireReader): MemberRequest | undefined {
  if (op === MEMBER_OPS.members) return { id, group, op: 'members' };
  if (op !== MEMBER_OPS.changeMembers) return undefined;
  const t = r.u8('change type');
  const type = CHANGE_TYPES[t - 1];
  if (type === undefined) throw protocolError(`client request: unknown membership change type ${t}`);
  const flags = r.u8('change flags');
  if ((flags & ~FLAG_FORCE) !== 0) throw protocolError(`client request: membership change flags 0x${flags.toString(16)}`);
  const member = r.str8('member id', 1);
  const length = r.u16('address length');
  if (length > MAX_ADDRESS_BYTES) throw protocolError(`client request: address of ${length} bytes`);
  const address = r.bytes(length, 'address').toString('utf8');
  const change: WireMemberChange = { type, id: member };
  if (address !== '') change.address = address;
  if ((flags & FLAG_FORCE) !== 0) change.force = true;
  return { id, group, op: 'changeMembers', change };
}

/** The bytes of a membership response after the kind byte. */
export function encodeMemberResponseBody(response: MemberResponse): Buffer {
  checkU32(response.id, 'response.id');
  const m = response.members;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new TypeError('members must be a plain object');
  const json = Buffer.from(JSON.stringify(m), 'utf8');
  if (json.length > MAX_MEMBERS_BYTES) throw new RangeError(`members JSON is ${json.length} bytes (cap ${MAX_MEMBERS_BYTES})`);
  const out = Buffer.alloc(4 + json.length);
  out.writeUInt32LE(json.length, 0);
  out.set(json, 4);
  return out;
}

/** A membership response from `r` (positioned after the kind byte); undefined for a kind that is not one. */
export function decodeMemberResponse(id: number, kind: number, r: WireReader): MemberResponse | undefined {
  if (kind !== MEMBER_KINDS.members) return undefined;
  const text = r.str32('members', MAX_MEMBERS_BYTES);
  let members: unknown;
  try {
    members = JSON.parse(text);
  } catch (error) {
    throw protocolError('client response: members is not valid JSON', error);
  }
  if (members === null || typeof members !== 'object' || Array.isArray(members)) throw protocolError('client response: members is not a JSON object');
  return { id, kind: 'members', members: members as Record<string, unknown> };
}
