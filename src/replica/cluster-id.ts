/**
 * The cluster uid (docs/FORMAT.md, "cluster-id"): which cluster a node's directory belongs
 * to, fixed when the cluster is bootstrapped and never changed after. The peer handshake
 * carries it (a peer of another cluster is refused) and clients check it (client hello,
 * op 32): two clusters never mix, even when both are named alike (--cluster-id).
 *
 * Where it comes from, at the first open of a directory without the file:
 *  - bootstrap (an empty directory with --peers): derived from the cluster name and the
 *    ids of the voters of the initial configuration (sorted), as etcd derives its cluster id
 *    from --initial-cluster and its token: every member started with the same voters
 *    derives the same uid without talking to the others, and a member started with another
 *    list derives another one and is refused by the rest. Addresses are left out: each node
 *    may reach a peer by its own route (a proxy, another interface), and an address does
 *    not make another cluster;
 *  - join (`server --join`, the `clusterUid` option): the uid of the cluster joined;
 *  - upgrade (a directory that already holds a log from a version without this file):
 *    derived from the cluster name alone, so that every member of an upgraded cluster
 *    adopts the same uid whatever configuration each one stores (they agreed on the name
 *    already: the handshake checked it). New clusters get the stronger, configuration
 *    derived uid.
 * Once stored, the file wins over everything: flags that would derive another uid are ignored.
 *
 * File: magic 'RLCLID01', u8 origin (1 bootstrap, 2 join, 3 upgrade), u8 length (1..64) +
 * the uid (ASCII), CRC32 (zlib) u32 LE of everything before it. Written atomically (temp
 * file, fsync, rename, fsync of the directory) before the node talks to any peer.
 */
import { createHash } from 'node:crypto';
import { writeFileDurablySync } from '../storage/index.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RaftLedgerError } from '../errors.js';

export const CLUSTER_ID_FILE = 'cluster-id';
const MAGIC = Buffer.from('RLCLID01', 'latin1');
const ORIGINS = ['bootstrap', 'join', 'upgrade'] as const;
export type ClusterUidOrigin = (typeof ORIGINS)[number];
export { NO_CLUSTER_UID } from '../transport/handshake.js';
const UID_PATTERN = /^[0-9a-f]{16}$/;

export function isClusterUid(value: unknown): value is string {
  return typeof value === 'string' && UID_PATTERN.test(value);
}

/** 16 hex digits: the first 8 bytes of SHA-256 over `lines`. */
function hashUid(lines: readonly string[]): string {
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex').slice(0, 16);
}

/** The uid of a cluster bootstrapped as `name` with these voters (their ids). */
export function deriveClusterUid(name: string, voters: readonly string[]): string {
  return hashUid(['raftledger cluster v1', name, ...[...voters].sort()]);
}

/** The uid an upgraded directory (a log from before the file existed) adopts: from the name alone. */
export function upgradeClusterUid(name: string): string {
  return hashUid(['raftledger cluster upgraded v1', name]);
}

export interface StoredClusterUid {
  uid: string;
  origin: ClusterUidOrigin;
}

export function encodeClusterUidFile(s: StoredClusterUid): Buffer {
  if (!isClusterUid(s.uid)) throw new TypeError(`cluster uid must be 16 hex digits, got ${JSON.stringify(s.uid)}`);
  const uid = Buffer.from(s.uid, 'latin1');
  const out = Buffer.alloc(8 + 1 + 1 + uid.length + 4);
  MAGIC.copy(out, 0);
  out[8] = ORIGINS.indexOf(s.origin) + 1;
  out[9] = uid.length;
  uid.copy(out, 10);
  out.writeUInt32LE(crc32(out.subarray(0, 10 + uid.length)), 10 + uid.length);
  return out;
}

/** ERR_LOG_CORRUPT for anything that is not a whole, valid file. */
export function decodeClusterUidFile(bytes: Buffer, path: string): StoredClusterUid {
  const corrupt = (why: string): never => {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: ${why}`, { path, offset: 0 });
  };
  if (bytes.length < 14 || !bytes.subarray(0, 8).equals(MAGIC)) corrupt('not a cluster-id file (bad magic or too short)');
  const length = bytes[9]!;
  if (bytes.length !== 10 + length + 4) corrupt(`length ${length} does not match the file size ${bytes.length}`);
  if (crc32(bytes.subarray(0, 10 + length)) !== bytes.readUInt32LE(10 + length)) corrupt('CRC mismatch');
  const origin = ORIGINS[bytes[8]! - 1];
  if (origin === undefined) corrupt(`unknown origin ${bytes[8]}`);
  const uid = bytes.toString('latin1', 10, 10 + length);
  if (!isClusterUid(uid)) corrupt(`bad uid ${JSON.stringify(uid)}`);
  return { uid, origin: origin! };
}

export function readClusterUid(dir: string): StoredClusterUid | undefined {
  const path = join(dir, CLUSTER_ID_FILE);
  if (!existsSync(path)) return undefined;
  return decodeClusterUidFile(readFileSync(path), path);
}

export function saveClusterUid(dir: string, s: StoredClusterUid): void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, CLUSTER_ID_FILE);
  writeFileDurablySync(path, encodeClusterUidFile(s));
}

export interface ResolveClusterUid {
  /** The directory the file lives in (a server's --dir; a Ledger's log directory). */
  dir: string;
  /** The cluster name (--cluster-id). */
  name: string;
  /** The ids of the bootstrap voters. */
  voters: readonly string[];
  /** The uid of the cluster being joined (--join), if any. */
  joining?: string | undefined;
  /** The directory already holds a log (a version without the file wrote it). */
  existing: boolean;
  log?: (line: string) => void;
}

/**
 * The node's cluster uid (header), and when the directory has none stored yet, `store()`,
 * which writes it: before the node talks to any peer, once the directory may hold it (a
 * log directory only once its log exists: storage refuses to create a log among unknown
 * files). ERR_CLUSTER_MISMATCH when a join names another cluster than the one the
 * directory belongs to.
 */
export function resolveClusterUid(o: ResolveClusterUid): { uid: string; store?: () => void } {
  if (o.joining !== undefined && !isClusterUid(o.joining)) throw new TypeError(`clusterUid must be 16 hex digits, got ${JSON.stringify(o.joining)}`);
  const stored = readClusterUid(o.dir);
  if (stored !== undefined) {
    if (o.joining !== undefined && o.joining !== stored.uid) {
      throw new RaftLedgerError(
        'ERR_CLUSTER_MISMATCH',
        `${join(o.dir, CLUSTER_ID_FILE)}: this directory belongs to cluster ${stored.uid} (${stored.origin}), not to cluster ${o.joining} being joined (a wrong --dir, or --join to another cluster?)`,
      );
    }
    return { uid: stored.uid };
  }
  let s: StoredClusterUid;
  if (o.joining !== undefined) s = { uid: o.joining, origin: 'join' };
  else if (o.existing) s = { uid: upgradeClusterUid(o.name), origin: 'upgrade' };
  else s = { uid: deriveClusterUid(o.name, o.voters), origin: 'bootstrap' };
  const how =
    s.origin === 'join' ? 'joined' : s.origin === 'upgrade' ? `adopted for a directory from before cluster uids (from the name ${JSON.stringify(o.name)})` : `derived from the bootstrap voters ${[...o.voters].sort().join(',')}`;
  return {
    uid: s.uid,
    store: () => {
      saveClusterUid(o.dir, s);
      o.log?.(`cluster uid ${s.uid} ${how}; stored in ${join(o.dir, CLUSTER_ID_FILE)}`);
    },
  };
}
