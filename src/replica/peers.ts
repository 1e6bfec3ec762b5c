/**
 * Peer addresses: one parser for every surface that takes them (server flags and
 * config, Ledger.open, LedgerHost.open). Peers are written `id=host:port` (the Raft
 * port; the client port is the Raft port plus clientPortOffset, 100 by default) or
 * `id=host:raftPort/clientPort`, or given as an object of such strings or { raft, client }.
 */
import { RaftLedgerError } from '../errors.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';

export interface PeerAddresses {
  raft: string;
  client: string;
}

export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

function bad(message: string): RaftLedgerError {
  return new RaftLedgerError('ERR_BAD_CONFIG', message);
}

function checkAddress(what: string, address: unknown): string {
  if (typeof address !== 'string') throw bad(`${what} must be a 'host:port' string`);
  try {
    return formatHostPort(parseHostPort(address));
  } catch (error) {
    throw bad(`${what}: ${(error as Error).message}`);
  }
}

export function parsePeers(spec: string, clientPortOffset = 100): Record<string, PeerAddresses> {
  if (typeof spec !== 'string' || spec.trim() === '') throw bad('--peers is empty: expected id=host:port[,id=host:port...]');
  const peers: Record<string, PeerAddresses> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(`peer '${part}' is not id=host:port`);
    const id = part.slice(0, eq).trim();
    if (!ID_PATTERN.test(id)) throw bad(`peer id '${id}' must be 1-64 characters of letters, digits, '_', '.', '-'`);
    if (peers[id] !== undefined) throw bad(`peer id '${id}' appears twice`);
    const rest = part.slice(eq + 1).trim();
    const slash = rest.lastIndexOf('/');
    const raft = checkAddress(`peer ${id}`, slash > 0 ? rest.slice(0, slash) : rest);
    const { host, port } = parseHostPort(raft);
    let client: string;
    if (slash > 0) {
      const clientPort = Number(rest.slice(slash + 1));
      if (!Number.isInteger(clientPort) || clientPort < 1 || clientPort > 65535) throw bad(`peer ${id}: bad client port '${rest.slice(slash + 1)}'`);
      client = formatHostPort({ host, port: clientPort });
    } else {
      if (port + clientPortOffset > 65535) throw bad(`peer ${id}: client port ${port + clientPortOffset} is out of range`);
      client = formatHostPort({ host, port: port + clientPortOffset });
    }
    peers[id] = { raft, client };
  }
  return peers;
}

/** One peer's addresses where the client address may be absent (Ledger.open: it is only a hint). */
export interface PeerAddressesMaybeClient {
  raft: string;
  client?: string;
}

/** Every form normalizePeers accepts (the type of `peers` in Ledger.open and LedgerHost.open). */
export type PeersInput = string | Readonly<Record<string, string | Readonly<PeerAddressesMaybeClient>>>;

/**
 * Peers from any of the accepted forms: a spec string 'id=host:port[/clientPort],...', or an
 * object whose values are 'host:port[/clientPort]' strings or { raft, client? } objects.
 * A client address not given is the Raft port + 100, unless `clientOptional` (then it is
 * left out). Two peers with the same address are refused.
 */
export function normalizePeers(input: unknown): Record<string, PeerAddresses>;
export function normalizePeers(input: unknown, options: { clientOptional: true }): Record<string, PeerAddressesMaybeClient>;
export function normalizePeers(input: unknown, options: { clientOptional?: boolean } = {}): Record<string, PeerAddressesMaybeClient> {
  const optional = options.clientOptional === true;
  const peers: Record<string, PeerAddressesMaybeClient> = {};
  if (typeof input === 'string') Object.assign(peers, parsePeers(input));
  else if (Array.isArray(input)) {
    throw bad("peers must be an object { id: 'host:port' } or a string 'id=host:port,...', not an array (an array has no peer ids)");
  } else if (input !== null && typeof input === 'object') {
    for (const [id, value] of Object.entries(input as Record<string, unknown>)) {
      if (!ID_PATTERN.test(id)) throw bad(`peer id '${id}' must be 1-64 characters of letters, digits, '_', '.', '-'`);
      if (typeof value === 'string') {
        const parsed = parsePeers(`${id}=${value}`)[id]!;
        peers[id] = optional && !value.includes('/') ? { raft: parsed.raft } : parsed;
      } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const v = value as Record<string, unknown>;
        const raft = checkAddress(`peers.${id}.raft`, v.raft);
        if (v.client !== undefined) peers[id] = { raft, client: checkAddress(`peers.${id}.client`, v.client) };
        else peers[id] = optional ? { raft } : parsePeers(`${id}=${raft}`)[id]!;
      } else throw bad(`peers.${id} must be 'host:port' or { raft, client }, got ${value === null ? 'null' : typeof value}`);
    }
  } else throw bad(`peers is required: 'id=host:port,...' or { id: 'host:port' }, got ${input === null ? 'null' : typeof input}`);
  if (Object.keys(peers).length === 0) throw bad('peers is empty: name every replica, this one included');
  const owner = new Map<string, string>();
  for (const [id, p] of Object.entries(peers)) {
    for (const [what, address] of [['raft', p.raft], ['client', p.client]] as const) {
      if (address === undefined) continue;
      const other = owner.get(address);
      if (other !== undefined) throw bad(`peers ${other} and ${id} (${what}) have the same address ${address}: every replica needs its own ports`);
      owner.set(address, `${id} (${what})`);
    }
  }
  return peers;
}

/**
 * A member's address as a Config entry stores it (docs/FORMAT.md, "Config entry body"):
 * 'host:raftPort/clientPort', 'host:raftPort/clientHost:clientPort', or 'host:raftPort'
 * (client port = Raft port + 100). Undefined for '' (not known) or anything else.
 */
export function memberAddresses(address: string): PeerAddresses | undefined {
  if (typeof address !== 'string' || address === '') return undefined;
  try {
    const slash = address.lastIndexOf('/');
    const clientPart = slash > 0 ? address.slice(slash + 1) : '';
    if (clientPart.includes(':')) return { raft: formatHostPort(parseHostPort(address.slice(0, slash))), client: formatHostPort(parseHostPort(clientPart)) };
    return parsePeers(`m=${address}`).m;
  } catch {
    return undefined;
  }
}

/** The Config entry form of a member's addresses ('host:raftPort/clientPort' when both share the host). */
export function formatMemberAddress(a: PeerAddresses): string {
  const raft = parseHostPort(a.raft);
  const client = parseHostPort(a.client);
  return raft.host === client.host ? `${a.raft}/${client.port}` : `${a.raft}/${a.client}`;
}

/** memberAddresses, or ERR_BAD_CONFIG naming `what` for an address that is not one. */
export function checkMemberAddress(what: string, address: unknown): PeerAddresses {
  const a = typeof address === 'string' ? memberAddresses(address) : undefined;
  if (a === undefined) throw bad(`${what}: address ${JSON.stringify(address)} is not host:raftPort[/clientPort]`);
  return a;
}
