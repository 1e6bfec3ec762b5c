/**
 * Issue 17, multi-process: TLS and client auth with --workers 2. Three servers with mutual
 * TLS between peers, --client-auth tls and two worker threads each (every worker serves
 * its groups' clients on its own port, client port + 1 + w, with the node's TLS material
 * and auth):
 *  - both groups elect and commit (the client follows ERR_MOVED to the worker ports over TLS);
 *  - a plaintext client and a client with another CA's certificate are refused at a worker
 *    port, counted per worker and in the node's totals in /metrics, while the cluster keeps
 *    committing;
 *  - SIGHUP rotates one server to a new CA on its node port and both worker ports at once,
 *    without a restart.
 * And --client-auth token with --workers 2 (one process): the worker ports refuse a wrong
 * token, and SIGHUP reloads the token file on every port.
 * Certificates are made per run by test/support/certs.ts (openssl) in a temp directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../dist/client/index.js';
import { workerClientAddress } from '../../dist/host/placement.js';
import { waitForLeader, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { type CertAuthority, type LeafFiles } from '../support/certs.js';
import { rotateNode, startTlsCluster, stopTlsCluster } from '../support/tls-cluster.js';
import { metricSample, scrapeText } from '../support/metrics-text.js';
import { freePorts, startServer } from '../cli/server-process.js';
import { makeTempDir } from '../support/tmp.js';
import { statusOutcome } from '../support/status-outcome.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const W = 2;
const G = 2; // group g on worker g

describe('TLS cluster with --workers 2 (3 processes, mutual TLS, --client-auth tls)', () => {
  let ca: CertAuthority;
  let other: CertAuthority;
  let tc: TestCluster | undefined;
  let live: Record<string, LeafFiles>;
  let clientCert: LeafFiles;

  beforeAll(async () => {
    ({ ca, other, live, clientCert, tc } = await startTlsCluster({ workers: W, groups: G, durability: 'memory', metrics: true }));
  }, 120_000);

  afterAll(() => stopTlsCluster(tc, ca));

  it('elects and commits in every group over the worker ports', async () => {
    const { client } = tc!;
    for (let g = 0; g < G; g++) await waitForLeader(client, 30_000, undefined, g);
    for (let g = 0; g < G; g++) {
      const ack = await client.append(enc(`tls g${g}`), { group: g });
      expect(ack.index).toBeGreaterThan(0);
      expect(Buffer.from((await client.read(ack.index, { group: g }))!.payload).toString()).toBe(`tls g${g}`);
      // Served by the group's worker port: node client port + 1 + g.
      const port = Number(client.leaderOf(g)?.split(':').pop());
      const nodePorts = [...tc!.cluster.servers.values()].map((s) => Number(s.client.split(':').pop()));
      expect(nodePorts).toContain(port - 1 - g);
    }
  }, 90_000);

  it('refuses a plaintext client and another CA at a worker port, counted per worker in /metrics; keeps committing', async () => {
    const { cluster, client } = tc!;
    const n1 = cluster.servers.get('n1')!;
    const worker0 = workerClientAddress(n1.client, 0);
    expect(await statusOutcome(worker0, 0)).toBe('ERR_TLS'); // plaintext
    expect(await statusOutcome(worker0, 0, { tls: { ...other.issue('stranger'), ca: ca.ca } })).toBe('ERR_TLS');
    expect(await statusOutcome(worker0, 0, { tls: clientCert })).toBe('served');

    await waitUntil(async () => metricSample(await scrapeText(n1.metrics!), 'raftledger_worker_client_connections_rejected_total', 'worker="0"', 'reason="tls"') >= 1, 'the worker refusals in /metrics');
    const text = await scrapeText(n1.metrics!);
    expect(metricSample(text, 'raftledger_worker_client_connections_rejected_total', 'worker="0"', 'reason="plaintext"')).toBeGreaterThanOrEqual(1);
    expect(metricSample(text, 'raftledger_worker_client_connections_rejected_total', 'worker="0"', 'reason="tls"')).toBeGreaterThanOrEqual(1);
    // The node's totals include its worker ports.
    expect(metricSample(text, 'raftledger_client_connections_rejected_total', 'reason="plaintext"')).toBeGreaterThanOrEqual(1);
    expect(metricSample(text, 'raftledger_client_connections_rejected_total', 'reason="tls"')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^raftledger_worker_client_connections\{worker="1"\} \d+$/m);

    for (let g = 0; g < G; g++) expect((await client.append(enc(`after the refusals g${g}`), { group: g })).index).toBeGreaterThan(0);
  }, 90_000);

  it('SIGHUP rotates a server to a new CA on its node port and every worker port, without a restart', async () => {
    const { cluster } = tc!;
    const n2 = cluster.servers.get('n2')!;
    const pid = n2.child!.pid;
    const ports: Array<[string, number]> = [[n2.client, 0], ...Array.from({ length: W }, (_, w): [string, number] => [workerClientAddress(n2.client, w), w])];
    const rotated = await rotateNode({ ca, live, tc: tc! }, 'n2');
    expect(n2.child!.pid).toBe(pid);
    const fresh = rotated.issue('client2');
    for (const [address, group] of ports) {
      expect(await statusOutcome(address, group, { tls: fresh }), `${address} with the new CA`).toBe('served');
      expect(await statusOutcome(address, group, { tls: clientCert }), `${address} with the old CA`).toBe('ERR_TLS');
    }
  }, 90_000);
});

describe('--client-auth token with --workers 2 (one server process)', () => {
  it('the worker ports refuse a wrong token and take the reloaded token file after SIGHUP', async () => {
    const t = makeTempDir('raftledger-token-workers-');
    const tokenFile = join(t.dir, 'token');
    writeFileSync(tokenFile, 'first-secret\n');
    const [ports] = await freePorts(1, W);
    const started = await startServer({ dir: join(t.dir, 'data'), ...ports!, extra: ['--workers', String(W), '--groups', String(G), '--client-auth', 'token', '--client-token-file', tokenFile] });
    if (!started.ready) throw new Error(`server did not start: ${started.stderr}`);
    const server = started.server;
    try {
      const every: Array<[string, number]> = [[server.client, 0], ...Array.from({ length: W }, (_, w): [string, number] => [workerClientAddress(server.client, w), w])];
      for (const [address, group] of every) {
        expect(await statusOutcome(address, group, { token: 'first-secret' }), address).toBe('served');
        expect(await statusOutcome(address, group, { token: 'wrong' }), address).toBe('ERR_AUTH');
        expect(await statusOutcome(address, group), address).toBe('ERR_AUTH');
      }
      writeFileSync(tokenFile, 'second-secret\n');
      server.child.kill('SIGHUP');
      await waitUntil(async () => (await statusOutcome(every[W]![0], W - 1, { token: 'second-secret' })) === 'served', 'the new token works at the last worker port');
      for (const [address, group] of every) {
        expect(await statusOutcome(address, group, { token: 'second-secret' }), address).toBe('served');
        expect(await statusOutcome(address, group, { token: 'first-secret' }), address).toBe('ERR_AUTH');
      }
    } finally {
      await server.stop();
      t.cleanup();
    }
  }, 60_000);
});
