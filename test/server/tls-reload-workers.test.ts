/**
 * Issue 17: a server's TLS reload is all or nothing across its client ports and the Raft
 * side of every worker thread (Server.reloadTls: prepare everywhere, then swap). One
 * in-process server with --workers 2, TLS and --client-auth tls:
 *  - the peer side fails (worker 1 dies while the reload is being prepared): the reload
 *    rejects and no port changed: the node's client port and worker 0's still take the old
 *    CA and refuse the new one;
 *  - the restarted worker 1 comes back on the material in force (read once at start), not
 *    on the rotated files it would find on disk;
 *  - the next reload swaps all three client ports (and the Raft transports) at once.
 * And LedgerHost.reloadTls on its own: every worker's transport, or none on a broken key.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server } from '../../dist/server/server.js';
import { LedgerHost } from '../../dist/host/ledger-host.js';
import { validateConfig } from '../../dist/server/config.js';
import { crashWorker } from '../../dist/host/internal.js';
import { workerClientAddress } from '../../dist/host/placement.js';
import { reserveNodePorts } from '../../dist/tools/cluster/ports.js';
import { certAuthority, copyLeaf, type CertAuthority, type LeafFiles } from '../support/certs.js';
import { makeTempDir } from '../support/tmp.js';
import { statusOutcome } from '../support/status-outcome.js';

let ca: CertAuthority;
let rotated: CertAuthority;
beforeAll(() => {
  ca = certAuthority('cluster');
  rotated = certAuthority('rotated', ca.dir);
});
afterAll(() => ca?.dispose());

describe('Server.reloadTls with workers: 2 (in process)', () => {
  it('a reload whose peer side fails changes no port; the next one swaps every port', async () => {
    const t = makeTempDir('raftledger-tls-workers-');
    const live = { cert: join(t.dir, 'n0.crt'), key: join(t.dir, 'n0.key'), ca: join(t.dir, 'ca.crt') };
    const put = (src: LeafFiles): void => copyLeaf(src, live);
    put(ca.issue('n0'));
    const ports = (await reserveNodePorts(['n0'], 2)).n0!;
    const config = validateConfig({
      id: 'n0',
      peers: `n0=127.0.0.1:${ports.raftPort}/${ports.clientPort}`,
      dir: join(t.dir, 'data'),
      durability: 'memory',
      workers: 2,
      groups: 2,
      tickMs: 5,
      tlsCert: live.cert,
      tlsKey: live.key,
      tlsCa: live.ca,
      clientAuth: 'tls',
    });
    const logs: string[] = [];
    const server = await Server.start(config, { log: (l) => logs.push(l) });
    const main = `127.0.0.1:${ports.clientPort}`;
    // [address, group served there]: the node's port (status of group 0) and each worker's port.
    const everyPort: Array<[string, number]> = [[main, 0], [workerClientAddress(main, 0), 0], [workerClientAddress(main, 1), 1]];
    const oldClient = ca.issue('client');
    const newClient = rotated.issue('client');
    try {
      for (const [address, group] of everyPort) expect(await statusOutcome(address, group, { tls: oldClient }), address).toBe('served');
      // Worker ports refuse what the node's port refuses: another CA's client.
      expect(await statusOutcome(everyPort[1]![0], 0, { tls: newClient })).toBe('ERR_TLS');

      put(rotated.issue('n0'));
      const restarted = new Promise((resolve) => server.host.once('workerRestart', resolve));
      server.host[crashWorker](1, 'exit'); // dies before it answers the reload's prepare
      await expect(server.reloadTls()).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' });
      for (const [address, group] of everyPort.slice(0, 2)) {
        expect(await statusOutcome(address, group, { tls: oldClient }), `${address} after the failed reload`).toBe('served');
        expect(await statusOutcome(address, group, { tls: newClient }), `${address} after the failed reload`).toBe('ERR_TLS');
      }
      await restarted;
      // The restarted worker is on the material in force, not on the rotated files.
      expect(await statusOutcome(everyPort[2]![0], 1, { tls: oldClient })).toBe('served');
      expect(await statusOutcome(everyPort[2]![0], 1, { tls: newClient })).toBe('ERR_TLS');

      expect(await server.reloadTls()).toBe(true);
      for (const [address, group] of everyPort) {
        expect(await statusOutcome(address, group, { tls: newClient }), `${address} after the reload`).toBe('served');
        expect(await statusOutcome(address, group, { tls: oldClient }), `${address} after the reload`).toBe('ERR_TLS');
      }
      expect(logs.filter((l) => l.includes('TLS material reloaded')).length).toBeGreaterThanOrEqual(2); // both workers' transports
    } finally {
      await server.close();
      t.cleanup();
    }
  }, 120_000);

  it('LedgerHost.reloadTls reaches every worker\'s transport; a broken key reaches none', async () => {
    const t = makeTempDir('raftledger-host-reload-');
    const live = { cert: join(t.dir, 'n0.crt'), key: join(t.dir, 'n0.key'), ca: join(t.dir, 'ca.crt') };
    const issued = ca.issue('n0');
    copyLeaf(issued, live);
    const ports = (await reserveNodePorts(['n0'], 2)).n0!;
    const logs: string[] = [];
    const host = await LedgerHost.open({
      dir: join(t.dir, 'data'),
      id: 'n0',
      peers: { n0: `127.0.0.1:${ports.raftPort}/${ports.clientPort}` },
      workers: 2,
      groups: 2,
      durability: 'memory',
      tickMs: 5,
      tls: live,
      log: (l) => logs.push(l),
    });
    const reloaded = (): string[] => logs.filter((l) => l.includes('TLS material reloaded'));
    try {
      writeFileSync(live.key, 'not a key');
      await expect(host.reloadTls()).rejects.toMatchObject({ code: 'ERR_TLS' });
      expect(reloaded()).toEqual([]);
      copyFileSync(issued.key, live.key);
      await host.reloadTls();
      expect(reloaded().some((l) => l.includes('worker 0'))).toBe(true);
      expect(reloaded().some((l) => l.includes('worker 1'))).toBe(true);
    } finally {
      await host.close();
      t.cleanup();
    }
  }, 60_000);
});
