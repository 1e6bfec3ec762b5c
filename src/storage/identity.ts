/**
 * `raftledger.json`, the identity file that makes a directory a raftledger log
 * (docs/FORMAT.md): format, version, the sizes the log was created with, and (replicas) the
 * owner: the node, cluster and Raft group the directory belongs to.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../errors.js';
import { native } from './native.js';

export const IDENTITY_FILE = 'raftledger.json';
export const MIN_SEGMENT_SIZE_BYTES = 4096;

export interface Identity {
  format: 'raftledger';
  version: number;
  segmentSizeBytes: number;
  indexSlotsPerFile: number;
  createdAt: string;
  /** Set on a replica's log (written at creation, or on the first replica open of an older log); absent on a standalone log. */
  owner?: DirOwner;
}

/** Whose replica a log directory is. */
export interface DirOwner {
  nodeId: string;
  clusterId: string;
  group: number;
}

function describeOwner(o: DirOwner): string {
  return `node ${JSON.stringify(o.nodeId)} of cluster ${JSON.stringify(o.clusterId)}, group ${o.group}`;
}

function isOwner(value: unknown): value is DirOwner {
  const o = value as DirOwner | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.nodeId === 'string' &&
    o.nodeId !== '' &&
    typeof o.clusterId === 'string' &&
    o.clusterId !== '' &&
    Number.isSafeInteger(o.group) &&
    o.group >= 0
  );
}

/** The identity of the log in `dir`, or undefined when `dir` holds none. Throws ERR_NOT_A_LOG / ERR_LOG_CORRUPT for a bad file. */
export function readIdentity(dir: string): Identity | undefined {
  const path = join(dir, IDENTITY_FILE);
  if (!existsSync(path)) return undefined;
  let identity: Identity;
  try {
    identity = JSON.parse(readFileSync(path, 'utf8')) as Identity;
  } catch (error) {
    throw new RaftLedgerError('ERR_NOT_A_LOG', `${path} is not a valid raftledger identity file`, { path, cause: error });
  }
  if (identity?.format !== 'raftledger' || identity.version !== 1) {
    throw new RaftLedgerError('ERR_NOT_A_LOG', `${path}: unsupported format ${JSON.stringify(identity?.format)} version ${String(identity?.version)}`, { path });
  }
  if (!Number.isSafeInteger(identity.segmentSizeBytes) || identity.segmentSizeBytes < MIN_SEGMENT_SIZE_BYTES) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: bad segmentSizeBytes`, { path });
  }
  if (!Number.isSafeInteger(identity.indexSlotsPerFile) || identity.indexSlotsPerFile < 1) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: bad indexSlotsPerFile`, { path });
  }
  if (identity.owner !== undefined && !isOwner(identity.owner)) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: bad owner (needs nodeId, clusterId, group)`, { path });
  }
  return identity;
}

/** A validated copy of an `owner` option (TypeError for a malformed one). */
export function ownerOption(owner: DirOwner): DirOwner {
  if (!isOwner(owner)) throw new TypeError('owner must be { nodeId: non-empty string, clusterId: non-empty string, group: integer >= 0 }');
  return { nodeId: owner.nodeId, clusterId: owner.clusterId, group: owner.group };
}

/**
 * Refuse `identity` (of the log in `dir`) when it belongs to another node, cluster or group
 * than `expected`: ERR_FOREIGN_DIR naming both. A log without owner passes (see claimOwner).
 */
export function checkOwner(dir: string, identity: Identity, expected: DirOwner): void {
  const stored = identity.owner;
  if (stored === undefined) return;
  if (stored.nodeId === expected.nodeId && stored.clusterId === expected.clusterId && stored.group === expected.group) return;
  throw new RaftLedgerError(
    'ERR_FOREIGN_DIR',
    `${dir} belongs to ${describeOwner(stored)}; refusing to open it as ${describeOwner(expected)} (a wrong --dir, --id, --cluster-id or group?)`,
    { path: join(dir, IDENTITY_FILE) },
  );
}

/** checkOwner for a directory that may hold no log yet (nothing to check then): a server's check before it touches the directory. */
export function checkDirOwner(dir: string, expected: DirOwner): void {
  const identity = readIdentity(dir);
  if (identity !== undefined) checkOwner(dir, identity, expected);
}

/**
 * The identity of the log in `dir` once opened by the replica `expected` (undefined: not a
 * replica open, nothing checked): ERR_FOREIGN_DIR for another owner; a log that has no owner
 * yet (created before owners existed) is adopted, the owner written durably, unless the open
 * is read-only.
 */
export async function claimOwner(dir: string, identity: Identity, expected: DirOwner | undefined, readOnly: boolean): Promise<Identity> {
  if (expected === undefined) return identity;
  checkOwner(dir, identity, expected);
  if (identity.owner !== undefined || readOnly) return identity;
  const adopted: Identity = { ...identity, owner: ownerOption(expected) };
  const path = join(dir, IDENTITY_FILE);
  try {
    await native.atomicWriteFile(path, Buffer.from(JSON.stringify(adopted, null, 2) + '\n'));
  } catch (error) {
    throw fromSystemError(error, `cannot write the owner into ${path}`, path);
  }
  return adopted;
}
