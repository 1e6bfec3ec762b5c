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

/** Peers from a spec string or an object of `'host:port'` strings / { raft, client }. */
export function normalizePeers(input: unknown): Record<string, PeerAddresses> {
  let peers: Record<string, PeerAddresses>;
  if (typeof input === 'string') peers = parsePeers(input);
  else if (input !== null && typeof input === 'object') {
    peers = {};
    for (const [id, value] of Object.entries(input as Record<string, unknown>)) {
      if (!ID_PATTERN.test(id)) throw bad(`peer id '${id}' is not valid`);
      if (typeof value === 'string') peers[id] = parsePeers(`${id}=${value}`)[id]!;
      else if (value !== null && typeof value === 'object') {
        const v = value as Record<string, unknown>;
        peers[id] = { raft: checkAddress(`peers.${id}.raft`, v.raft), client: checkAddress(`peers.${id}.client`, v.client) };
      } else throw bad(`peers.${id} must be 'host:port' or { raft, client }`);
    }
  } else throw bad('peers is required');
  return peers;
}
