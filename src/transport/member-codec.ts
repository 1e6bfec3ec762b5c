/**
 * The client protocol's membership requests (ops 30-39, response kinds 30-39; the frame
 * layout is client-codec.ts's, which hands these ops and kinds to this module).
 *
 * Requests (after id u32, group u32, op u8):
 *   30 members        nothing: the configuration in force on the server
 *   31 changeMembers  u8 type (1 addLearner, 2 promote, 3 remove), u8 flags (bit 0 force;
 *                     other bits 0), u8 length (1..255) + member id,
 *                     u16 length + address ('host:raftPort[/clientPort]'; empty unless addLearner)
 *   32 hello          nothing (the group is ignored): who answers. The network client sends it
 *                     first on every new connection and sends nothing else before the answer;
 *                     a server from before op 32 closes the connection on it (client/hello.ts)
 * Response kinds (after id u32, kind u8):
 *   30 members        u32 length (<= 1 MiB) + UTF-8 JSON text of an object (replica/membership.ts
 *                     MembersView): the answer to both ops (changeMembers: once committed)
 *   32 hello          u16 protocolVersion (CLIENT_PROTOCOL_VERSION), u8 transportVersion (the
 *                     peer TRANSPORT_VERSION), u8 length (0..255) + server id, u8 length
 *                     (0..255) + cluster id (the name, --cluster-id), u8 length (0..64) + cluster
 *                     uid (replica/cluster-id.ts); an empty id or uid: not known to this endpoint
 */
import { checkU32, putStr8, shortUtf8, type WireReader } from './bytes.js';
import { protocolError } from './frame.js';

export const MEMBER_OPS = { members: 30, changeMembers: 31, hello: 32 } as const;
export const MEMBER_KINDS = { members: 30, hello: 32 } as const;
/** The client protocol version a server reports in its hello (1: the first with op 32). */
export const CLIENT_PROTOCOL_VERSION = 1;
const MAX_UID_BYTES = 64;
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

/** What a server's hello says about it (op 32). */
export interface WireHello {
  protocolVersion: number;
  transportVersion: number;
  serverId: string;
  clusterId: string;
  clusterUid: string;
}

export type MemberRequest = { id: number; group: number; op: 'members' } | { id: number; group: number; op: 'changeMembers'; change: WireMemberChange } | { id: number; group: number; op: 'hello' };
export type MemberResponse = { id: number; kind: 'members'; members: Record<string, unknown> } | { id: number; kind: 'hello'; hello: WireHello };

/** The bytes of a membership request after the op byte (the caller writes id, group and op). */
export function encodeMemberRequestBody(request: MemberRequest): Buffer {
  if (request.op === 'members' || request.op === 'hello') return Buffer.alloc(0);
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
  if (op === MEMBER_OPS.hello) return { id, group, op: 'hello' };
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
  if (response.kind === 'hello') return encodeHello(response.hello);
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
  if (kind === MEMBER_KINDS.hello) return { id, kind: 'hello', hello: decodeHello(r) };
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

function encodeHello(h: WireHello): Buffer {
  if (h === null || typeof h !== 'object') throw new TypeError('hello must be an object');
  if (!Number.isInteger(h.protocolVersion) || h.protocolVersion < 0 || h.protocolVersion > 0xffff) throw new RangeError('hello.protocolVersion must be a u16');
  if (!Number.isInteger(h.transportVersion) || h.transportVersion < 0 || h.transportVersion > 0xff) throw new RangeError('hello.transportVersion must be a u8');
  const parts = [h.serverId, h.clusterId, h.clusterUid].map((x, i) => {
    if (typeof x !== 'string') throw new TypeError('hello: serverId, clusterId and clusterUid must be strings');
    const b = Buffer.from(x, 'utf8');
    if (b.length > (i === 2 ? MAX_UID_BYTES : 255)) throw new RangeError(`hello: ${['serverId', 'clusterId', 'clusterUid'][i]} is too long`);
    return b;
  });
  const out = Buffer.alloc(3 + parts.reduce((n, b) => n + 1 + b.length, 0));
  out.writeUInt16LE(h.protocolVersion, 0);
  out[2] = h.transportVersion;
  let o = 3;
  for (const b of parts) o = putStr8(out, o, b);
  return out;
}

function decodeHello(r: WireReader): WireHello {
  const protocolVersion = r.u16('protocolVersion');
  const transportVersion = r.u8('transportVersion');
  const serverId = r.str8('serverId');
  const clusterId = r.str8('clusterId');
  const clusterUid = r.str8('clusterUid');
  if (Buffer.byteLength(clusterUid) > MAX_UID_BYTES) throw protocolError(`client response: hello clusterUid is longer than ${MAX_UID_BYTES} bytes`);
  return { protocolVersion, transportVersion, serverId, clusterId, clusterUid };
}
