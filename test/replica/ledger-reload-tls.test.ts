/**
 * Issue 17: Ledger.reloadTls() on a Ledger opened with Ledger.open({ peers, tls }) (its own
 * transport): a broken key is refused with ERR_TLS and the old material stays in force;
 * new material (another CA) is used by the next inbound connection, without a restart. A
 * Ledger opened over a link has nothing of its own to reload (TypeError).
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { deriveClusterUid } from '../../src/replica/cluster-id.js';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../support/wait.js';
import { Ledger } from '../../src/replica/ledger.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import { loopbackPeer } from '../support/loopback-peer.js';
import { reserveNodePorts } from '../../src/tools/cluster/ports.js';
import { certAuthority, copyLeaf, type CertAuthority, type LeafFiles } from '../support/certs.js';
import { useTempDirs } from '../support/tmp.js';

const HOST = '127.0.0.1';
const SEG = 1 << 20;
const BOUND_MS = 15_000;
const tempDir = useTempDirs('raftledger-reload-tls-');

let ca: CertAuthority;
let rotated: CertAuthority;
beforeAll(() => {
  ca = certAuthority('ledger');
  rotated = certAuthority('rotated', ca.dir);
});
afterAll(() => ca?.dispose());

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

const until = (what: string, predicate: () => boolean, logs: string[]): Promise<void> => pollUntil(predicate, what, { limitMs: BOUND_MS, logs: () => logs.slice(-20) });

/** Node n1 dialing n2 at `address` with `tls` (n1 < n2: n1 dials). */
function dialer(address: string, tls: LeafFiles, logs: string[]): PeerTransport {
  const t = new PeerTransport(
    loopbackPeer('n1', { n2: address }, 'raftledger', {
      handshake: { clusterId: 'raftledger', clusterUid: deriveClusterUid('raftledger', ['n1', 'n2']), segmentSizeBytes: SEG }, // the Ledger's (bootstrap)
      tls,
      onMessage: () => {},
      log: (line) => logs.push(`n1: ${line}`),
    }),
  );
  open.push(t);
  return t;
}

describe('Ledger.reloadTls', () => {
  it('keeps the old material on a broken reload and takes a new CA for new connections on a good one', async () => {
    const logs: string[] = [];
    const files = { cert: join(ca.dir, 'live-n2.crt'), key: join(ca.dir, 'live-n2.key'), ca: join(ca.dir, 'live-n2-ca.crt') };
    const put = (src: LeafFiles): void => copyLeaf(src, files);
    put(ca.issue('n2'));
    const ports = await reserveNodePorts(['n1', 'n2'], 0);
    const n2Raft = `${HOST}:${ports.n2!.raftPort}`;
    const ledger = await Ledger.open({
      dir: tempDir(),
      id: 'n2',
      peers: { n1: `${HOST}:${ports.n1!.raftPort}`, n2: n2Raft },
      durability: 'memory',
      segmentSizeBytes: SEG,
      tickMs: 5,
      tls: files,
      onLog: (line) => logs.push(`n2: ${line}`),
    });
    open.push(ledger);

    // Before any reload: a dialer of the other CA is refused, one of the cluster CA gets in.
    const early = dialer(n2Raft, rotated.issue('n1'), logs);
    await early.start();
    await until('n2 refuses the other CA', () => logs.some((l) => l.startsWith('n2:') && l.includes('reason=tls')), logs);
    expect(early.isConnected('n2')).toBe(false);
    await early.close();

    // A broken key: ERR_TLS, and the old material stays.
    copyFileSync(files.key, join(ca.dir, 'saved-n2.key'));
    writeFileSync(files.key, 'not a key');
    expect(() => ledger.reloadTls()).toThrow(expect.objectContaining({ code: 'ERR_TLS' }));
    copyFileSync(join(ca.dir, 'saved-n2.key'), files.key);
    const old = dialer(n2Raft, ca.issue('n1'), logs);
    await old.start();
    await until('the cluster CA still gets in after the failed reload', () => old.isConnected('n2'), logs);
    await old.close();

    // Rotate: the next connection uses the new CA, same Ledger, no restart.
    put(rotated.issue('n2'));
    ledger.reloadTls();
    expect(logs.some((l) => l.startsWith('n2:') && l.includes('TLS material reloaded'))).toBe(true);
    const fresh = dialer(n2Raft, rotated.issue('n1'), logs);
    await fresh.start();
    await until('the new CA gets in after the reload', () => fresh.isConnected('n2'), logs);
    expect(ledger.closed).toBe(false);
  });

  it('is a TypeError on a Ledger opened over a link', async () => {
    const ledger = await Ledger.open({ dir: tempDir(), id: 'n0', members: ['n0'], link: { send: () => {} }, segmentSizeBytes: SEG, tickMs: 5, durability: 'memory' });
    open.push(ledger);
    expect(() => ledger.reloadTls()).toThrow(TypeError);
  });
});
