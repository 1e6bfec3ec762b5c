/**
 * Issue 17, Security, multi-process: a 3-server cluster with TLS on both ports (mutual TLS
 * between peers, --client-auth tls) elects, commits and fails over; a plaintext client, a
 * client with another CA's certificate, a client without a certificate and a peer
 * presenting another node's certificate are each refused (typed errors, one log line
 * naming the remote address, counted by reason in /metrics) while the servers keep
 * serving; SIGHUP rotates a server to a new CA. A single server with --client-auth token
 * refuses a wrong token and reloads its token file on SIGHUP.
 * Certificates are made per run by test/support/certs.ts (openssl) in a temp directory.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../dist/client/index.js';
import { PeerTransport } from '../../dist/transport/peer-transport.js';
import { waitForLeader, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { type CertAuthority, type LeafFiles } from '../support/certs.js';
import { rotateNode, startTlsCluster, stopTlsCluster } from '../support/tls-cluster.js';
import { metricSample, scrapeText } from '../support/metrics-text.js';
import { freePorts, startServer } from '../cli/server-process.js';
import { makeTempDir } from '../support/tmp.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

describe('TLS cluster (3 processes, mutual TLS, --client-auth tls)', () => {
  let ca: CertAuthority;
  let other: CertAuthority;
  let tc: TestCluster | undefined;
  let live: Record<string, LeafFiles>;
  let clientCert: LeafFiles;

  beforeAll(async () => {
    ({ ca, other, live, clientCert, tc } = await startTlsCluster({ metrics: true }));
  }, 120_000);

  afterAll(() => stopTlsCluster(tc, ca));

  it('elects, commits and fails over over TLS', async () => {
    const { cluster, client } = tc!;
    await waitForLeader(client, 30_000);
    const first = await client.append(enc('over tls 1'));
    expect(first.index).toBeGreaterThan(0);
    const leader = (await client.status()).leader as string;
    expect(['n0', 'n1', 'n2']).toContain(leader);
    await cluster.kill(leader, 'SIGKILL');
    try {
      const second = await client.append(enc('over tls 2'));
      expect(second.index).toBeGreaterThan(first.index);
      expect(Buffer.from((await client.read(first.index))!.payload).toString()).toBe('over tls 1');
      expect((await client.status()).leader).not.toBe(leader);
    } finally {
      await cluster.startServer(leader);
    }
  }, 90_000);

  it('refuses a plaintext client, another CA, no client certificate and another node\'s certificate; keeps serving', async () => {
    const { cluster, client, logs } = tc!;
    const target = cluster.servers.get('n1')!;
    const opts = { servers: [target.client], deadlineMs: 5000, requestTimeoutMs: 2000 };

    const plain = await connect(opts); // TCP connects; the first request gets the ERR_TLS notice
    await expectCode(plain.status(), 'ERR_TLS');
    await plain.close();

    await expectCode(connect({ ...opts, tls: { ...other.issue('stranger'), ca: ca.ca } }).then((c) => c.status().finally(() => c.close())), 'ERR_TLS');
    await expectCode(connect({ ...opts, tls: { ca: ca.ca } }).then((c) => c.status().finally(() => c.close())), 'ERR_TLS');

    // A peer claiming to be n0 with n2's certificate (signed by the cluster CA) dials n1.
    const impostor = new PeerTransport({
      id: 'n0',
      listen: { host: '127.0.0.1', port: 0 },
      peers: { n1: target.raft },
      handshake: { clusterId: 'raftledger', segmentSizeBytes: 4 * 1024 * 1024 },
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      tls: ca.issue('n2'),
      onMessage: () => {
        throw new Error('the impostor must never get a message');
      },
    });
    await impostor.start();
    await waitUntil(() => logs.some((l) => l.startsWith('n1 |') && /certificate names .*not node \\?"n0/.test(l)), 'n1 logs the identity refusal');
    await impostor.close();
    expect(impostor.stats().peers.n1!.connects).toBe(0);

    const text = await scrapeText(target.metrics!);
    expect(metricSample(text, 'raftledger_client_connections_rejected_total', 'reason="plaintext"')).toBeGreaterThanOrEqual(1);
    expect(metricSample(text, 'raftledger_client_connections_rejected_total', 'reason="tls"')).toBeGreaterThanOrEqual(2);
    expect(metricSample(text, 'raftledger_peer_connections_rejected_total', 'reason="identity"')).toBeGreaterThanOrEqual(1);
    const refusals = logs.filter((l) => l.startsWith('n1 |') && /"event":"refusal"/.test(l));
    expect(refusals.some((l) => /"remote":"127\.0\.0\.1:\d+"/.test(l) && /plaintext/.test(l))).toBe(true);
    expect(refusals.some((l) => /"remote":"127\.0\.0\.1:\d+"/.test(l) && /TLS (handshake failed|certificate refused)/.test(l))).toBe(true);

    // Still serving: appends commit.
    const ack = await client.append(enc('after the refusals'));
    expect(ack.index).toBeGreaterThan(0);
  }, 90_000);

  it('SIGHUP rotates a server to a new CA without a restart; a broken reload keeps the old material', async () => {
    const { cluster, logs } = tc!;
    const n2 = cluster.servers.get('n2')!;
    const opts = { servers: [n2.client], deadlineMs: 5000, requestTimeoutMs: 2000 };
    const pid = n2.child!.pid;

    // A broken key: the reload fails, is logged, and the old material keeps working.
    copyFileSync(live.n2!.key, join(ca.dir, 'saved-n2.key'));
    writeFileSync(live.n2!.key, 'not a key');
    await cluster.kill('n2', 'SIGHUP');
    await waitUntil(() => logs.some((l) => l.startsWith('n2 |') && l.includes('reload failed')), 'n2 logs the failed reload');
    const old = await connect({ ...opts, tls: clientCert });
    expect((await old.status()).id).toBe('n2');
    await old.close();
    copyFileSync(join(ca.dir, 'saved-n2.key'), live.n2!.key);

    const rotated = await rotateNode({ ca, live, tc: tc! }, 'n2');
    expect(n2.child!.pid).toBe(pid);

    const fresh: Client = await connect({ ...opts, tls: rotated.issue('client2') });
    expect((await fresh.status()).id).toBe('n2');
    await fresh.close();
    await expectCode(connect({ ...opts, tls: clientCert }).then((c) => c.status().finally(() => c.close())), 'ERR_TLS');
  }, 90_000);
});

describe('--client-auth token (one server process)', () => {
  it('refuses a wrong or missing token with ERR_AUTH, serves the right one, and reloads the token file on SIGHUP', async () => {
    const t = makeTempDir('raftledger-token-');
    const tokenFile = join(t.dir, 'token');
    writeFileSync(tokenFile, 'first-secret\n');
    const [ports] = await freePorts(1);
    const outcome = await startServer({ dir: join(t.dir, 'data'), ...ports!, extra: ['--client-auth', 'token', '--client-token-file', tokenFile] });
    if (!outcome.ready) throw new Error(`server did not start: ${outcome.stderr}`);
    const server = outcome.server;
    try {
      const opts = { servers: [server.client], deadlineMs: 5000, requestTimeoutMs: 2000 };
      await expectCode(connect({ ...opts, token: 'wrong' }).then((c) => c.status().finally(() => c.close())), 'ERR_AUTH');
      await expectCode(connect(opts).then((c) => c.status().finally(() => c.close())), 'ERR_AUTH');
      const good = await connect({ ...opts, token: 'first-secret' });
      expect((await good.status()).id).toBe('n0');
      await good.close();

      writeFileSync(tokenFile, 'second-secret\n');
      server.child.kill('SIGHUP');
      await waitUntil(async () => {
        const c = await connect({ ...opts, token: 'second-secret' });
        try {
          await c.status();
          return true;
        } catch {
          return false;
        } finally {
          await c.close();
        }
      }, 'the new token works after SIGHUP');
      await expectCode(connect({ ...opts, token: 'first-secret' }).then((c) => c.status().finally(() => c.close())), 'ERR_AUTH');
    } finally {
      await server.stop();
      t.cleanup();
    }
  }, 60_000);
});
