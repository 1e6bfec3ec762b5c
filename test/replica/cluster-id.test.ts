/**
 * The cluster uid (src/replica/cluster-id.ts): derived from the name and the bootstrap
 * voters, stored with a CRC, adopted at join and upgrade, and the stored one wins; and
 * the peer handshake refuses a transport of another uid.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLUSTER_ID_FILE,
  decodeClusterUidFile,
  deriveClusterUid,
  encodeClusterUidFile,
  readClusterUid,
  resolveClusterUid,
  upgradeClusterUid,
} from '../../src/replica/cluster-id.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs();

describe('cluster uid', () => {
  it('is derived from the name and the voter ids, whatever their order', () => {
    const uid = deriveClusterUid('raftledger', ['n0', 'n1', 'n2']);
    expect(uid).toMatch(/^[0-9a-f]{16}$/);
    expect(deriveClusterUid('raftledger', ['n2', 'n0', 'n1'])).toBe(uid);
    expect(deriveClusterUid('raftledger', ['n2'])).not.toBe(uid); // a node started with only itself
    expect(deriveClusterUid('other', ['n0', 'n1', 'n2'])).not.toBe(uid);
    expect(upgradeClusterUid('raftledger')).not.toBe(uid);
  });

  it('file round-trips; damage is ERR_LOG_CORRUPT', () => {
    const bytes = encodeClusterUidFile({ uid: '0123456789abcdef', origin: 'join' });
    expect(decodeClusterUidFile(bytes, 'f')).toEqual({ uid: '0123456789abcdef', origin: 'join' });
    for (let i = 0; i < bytes.length; i++) {
      const bad = Buffer.from(bytes);
      bad[i]! ^= 0x01;
      expect(() => decodeClusterUidFile(bad, 'f')).toThrow(expect.objectContaining({ code: 'ERR_LOG_CORRUPT' }));
    }
    expect(() => decodeClusterUidFile(bytes.subarray(0, bytes.length - 1), 'f')).toThrow(expect.objectContaining({ code: 'ERR_LOG_CORRUPT' }));
    expect(() => encodeClusterUidFile({ uid: 'xyz', origin: 'join' })).toThrow(TypeError);
  });

  it('bootstrap derives and stores; the stored uid wins over other voters; a join of another cluster is ERR_CLUSTER_MISMATCH', () => {
    const dir = tempDir();
    const lines: string[] = [];
    const first = resolveClusterUid({ dir, name: 'raftledger', voters: ['n0', 'n1', 'n2'], existing: false, log: (l) => lines.push(l) });
    expect(first.uid).toBe(deriveClusterUid('raftledger', ['n0', 'n1', 'n2']));
    expect(readClusterUid(dir)).toBeUndefined(); // stored only by store()
    first.store!();
    expect(readClusterUid(dir)).toEqual({ uid: first.uid, origin: 'bootstrap' });
    expect(lines.join('\n')).toMatch(/derived from the bootstrap voters n0,n1,n2/);
    const again = resolveClusterUid({ dir, name: 'raftledger', voters: ['n2'], existing: true });
    expect(again).toEqual({ uid: first.uid }); // stored: wins, nothing to store
    expect(resolveClusterUid({ dir, name: 'raftledger', voters: [], joining: first.uid, existing: true }).uid).toBe(first.uid);
    expect(() => resolveClusterUid({ dir, name: 'raftledger', voters: [], joining: 'ffffffffffffffff', existing: true })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER_MISMATCH' }));
    writeFileSync(join(dir, CLUSTER_ID_FILE), readFileSync(join(dir, CLUSTER_ID_FILE)).subarray(0, 5));
    expect(() => resolveClusterUid({ dir, name: 'raftledger', voters: ['n0'], existing: true })).toThrow(expect.objectContaining({ code: 'ERR_LOG_CORRUPT' }));
  });

  it('a join adopts the given uid; a directory from before cluster uids adopts the name-derived one', () => {
    const joined = tempDir();
    const j = resolveClusterUid({ dir: joined, name: 'raftledger', voters: ['n0'], joining: 'abcdefabcdefabcd', existing: false });
    j.store!();
    expect(readClusterUid(joined)).toEqual({ uid: 'abcdefabcdefabcd', origin: 'join' });
    const old = tempDir();
    const u = resolveClusterUid({ dir: old, name: 'prod', voters: ['a', 'b', 'c'], existing: true });
    u.store!();
    expect(readClusterUid(old)).toEqual({ uid: upgradeClusterUid('prod'), origin: 'upgrade' });
    // Members of an upgraded cluster agree whatever voters each one was started with.
    expect(resolveClusterUid({ dir: tempDir(), name: 'prod', voters: ['a'], existing: true }).uid).toBe(u.uid);
  });
});

describe('peer handshake with cluster uids', () => {
  async function pair(uidA: string, uidB: string): Promise<{ a: PeerTransport; b: PeerTransport }> {
    const mk = (id: string, uid: string, peers: Record<string, string>): PeerTransport =>
      new PeerTransport({
        id,
        listen: { host: '127.0.0.1', port: 0 },
        peers,
        handshake: { clusterId: 'raftledger', clusterUid: uid, segmentSizeBytes: 1 << 20 },
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
        onMessage: () => {},
      });
    const b = mk('b', uidB, { a: '' });
    await b.start();
    const a = mk('a', uidA, { b: `127.0.0.1:${b.address!.port}` });
    await a.start();
    return { a, b };
  }

  async function until(what: string, predicate: () => boolean): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (predicate()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('refuses a peer of another cluster uid (reason "cluster"), accepts one of the same', async () => {
    const other = await pair('1111111111111111', '2222222222222222');
    try {
      await until('the refusal', () => (other.b.stats().refusedByReason.cluster ?? 0) >= 1);
      expect(other.b.stats().peers.a!.connected).toBe(false);
      expect(other.a.stats().peers.b!.connected).toBe(false);
    } finally {
      await Promise.all([other.a.close(), other.b.close()]);
    }
    const same = await pair('1111111111111111', '1111111111111111');
    try {
      await until('the connection', () => same.b.stats().peers.a?.connected === true);
      expect(same.b.stats().refused).toBe(0);
    } finally {
      await Promise.all([same.a.close(), same.b.close()]);
    }
  });
});
