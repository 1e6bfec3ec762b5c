/**
 * Issue 17, connection-flood protection: connections that open a TLS handshake (or await
 * their auth frame) and stall count against the pending-handshake cap, on the client port
 * (maxPendingHandshakes) and on the Raft port (16). Past the cap a connection is destroyed
 * on accept and counted by reason (pending_handshakes, in stats() and /metrics); an
 * established connection keeps being served throughout, and once the stalled ones go, new
 * connections get in again. In process; certificates from test/support/certs.ts.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../support/wait.js';
import type { Message } from '../../src/raft/types.js';
import { ClientListener } from '../../src/server/client-listener.js';
import { memoryRouter } from './helpers.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import { loopbackPeer } from '../support/loopback-peer.js';
import { connect } from '../../src/client/index.js';
import { certAuthority, type CertAuthority } from '../support/certs.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HOST = '127.0.0.1';
const BOUND_MS = 15_000;
/** The first bytes of a TLS record header (handshake, TLS 1.0 record version): a handshake that never goes on. */
const STALLED_HELLO = Buffer.from([0x16, 0x03, 0x01]);

const router = memoryRouter({ id: 'stub' });

let ca: CertAuthority;
beforeAll(() => {
  ca = certAuthority('flood');
});
afterAll(() => ca?.dispose());

const until = (what: string, predicate: () => boolean): Promise<void> => pollUntil(predicate, what, { limitMs: BOUND_MS });

/** `n` connections that each send `first` (nothing when empty) and then stall; every one is accounted for once closed or connected. */
async function flood(port: number, n: number, first: Buffer): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve) => {
        const s = net.connect({ host: HOST, port }, () => {
          if (first.length > 0) s.write(first);
          resolve();
        });
        s.on('error', () => resolve());
        sockets.push(s);
      }),
    ),
  );
  return sockets;
}

function metricLine(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels === '' ? `${name} ` : `${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('client port: stalled handshakes count against maxPendingHandshakes', () => {
  it('TLS: past the cap a connection is destroyed on accept and counted; the established client is served throughout', async () => {
    const CAP = 4;
    const N = 20;
    const logs: string[] = [];
    const listener = new ClientListener({
      host: HOST,
      port: 0,
      router,
      tls: ca.issue('server'),
      maxPendingHandshakes: CAP,
      authTimeoutMs: 60_000, // the stalled handshakes outlive the test unless it closes them
      log: (l) => logs.push(l),
    });
    const port = await listener.listen();
    const metrics = new ServerMetrics({ hostStatus: async () => ({ threadId: 0, workers: [], groups: [] }), clientPort: () => listener.stats(), loopDelay: () => ({ windowMs: 1000, p99Ms: 0, maxMs: 0, p99MsSinceStart: 0 }) }, { defaultMetrics: false });
    const servers = [`${HOST}:${port}`];
    const established = await connect({ servers, tls: { ca: ca.ca }, deadlineMs: 10_000 });
    let stalled: net.Socket[] = [];
    try {
      expect((await established.status()).id).toBe('stub');
      stalled = await flood(port, N, STALLED_HELLO);
      const rejected = (): number => listener.stats().rejectedByReason?.pending_handshakes ?? 0;
      await until('every flood connection admitted or refused', () => rejected() + (listener.stats().pendingHandshakes ?? 0) === N);
      expect(listener.stats().pendingHandshakes).toBe(CAP);
      expect(rejected()).toBe(N - CAP);
      // Refusals at the cap are logged at most once a second, not once each.
      const lines = logs.filter((l) => l.includes('reason=pending_handshakes'));
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThan(N - CAP);

      expect((await established.status()).id).toBe('stub'); // still served
      const text = await metrics.render();
      expect(metricLine(text, 'raftledger_client_connections_rejected_total', 'reason="pending_handshakes"')).toBe(N - CAP);
      expect(metricLine(text, 'raftledger_client_pending_handshakes')).toBe(CAP);

      // Once the stalled connections go, a new client gets in.
      for (const s of stalled) s.destroy();
      await until('the stalled handshakes are gone', () => listener.stats().pendingHandshakes === 0);
      const fresh = await connect({ servers, tls: { ca: ca.ca }, deadlineMs: 10_000 });
      expect((await fresh.status()).id).toBe('stub');
      await fresh.close();
    } finally {
      for (const s of stalled) s.destroy();
      await established.close();
      await listener.close();
    }
  });

  it('token auth: connections that never send their auth frame count too', async () => {
    const CAP = 3;
    const N = 10;
    const tokenFile = join(ca.dir, 'flood-token');
    writeFileSync(tokenFile, 'tok\n');
    const listener = new ClientListener({ host: HOST, port: 0, router, clientAuth: 'token', tokenFile, maxPendingHandshakes: CAP, authTimeoutMs: 60_000 });
    const port = await listener.listen();
    const established = await connect({ servers: [`${HOST}:${port}`], token: 'tok', deadlineMs: 10_000 });
    let stalled: net.Socket[] = [];
    try {
      expect((await established.status()).id).toBe('stub');
      stalled = await flood(port, N, Buffer.alloc(0));
      const rejected = (): number => listener.stats().rejectedByReason?.pending_handshakes ?? 0;
      await until('every flood connection admitted or refused', () => rejected() + (listener.stats().pendingHandshakes ?? 0) === N);
      expect(listener.stats().pendingHandshakes).toBe(CAP);
      expect(rejected()).toBe(N - CAP);
      expect((await established.status()).id).toBe('stub');
    } finally {
      for (const s of stalled) s.destroy();
      await established.close();
      await listener.close();
    }
  });
});

describe('Raft port: stalled TLS handshakes count against the pending-handshake cap', () => {
  it('refuses past 16 by reason pending_handshakes; the established peer keeps exchanging messages', async () => {
    const CAP = 16; // peer-transport.ts MAX_PENDING_INBOUND
    const N = 40;
    const logs: string[] = [];
    const got: Message[] = [];
    const make = (id: string, peers: Record<string, string>): PeerTransport =>
      new PeerTransport(
        loopbackPeer(id, peers, 'flood', {
          handshakeTimeoutMs: 60_000,
          tls: ca.issue(id),
          onMessage: (_g, m) => got.push(m),
          log: (l) => logs.push(l),
        }),
      );
    const b = make('n2', { n0: '', n1: '' });
    const bAddr = await b.start();
    const a = make('n1', { n2: `${HOST}:${bAddr.port}` });
    let stalled: net.Socket[] = [];
    try {
      await a.start();
      await until('n1 connected to n2', () => a.isConnected('n2'));
      stalled = await flood(bAddr.port, N, STALLED_HELLO);
      await until('the flood counted', () => (b.stats().refusedByReason.pending_handshakes ?? 0) === N - CAP);
      const hb = (commit: number): Message => ({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit });
      expect(a.send(0, hb(7))).toBe(true);
      await until('heartbeat delivered during the flood', () => got.some((m) => m.type === 'heartbeat' && m.commit === 7));
      expect(a.isConnected('n2')).toBe(true);
      expect(logs.filter((l) => l.includes('reason=pending_handshakes')).length).toBeLessThan(N - CAP);
      // Past the flood, a peer connects again.
      for (const s of stalled) s.destroy();
      const c = make('n0', { n2: `${HOST}:${bAddr.port}` });
      try {
        await c.start();
        await until('n0 connects after the flood', () => c.isConnected('n2'));
      } finally {
        await c.close();
      }
    } finally {
      for (const s of stalled) s.destroy();
      await a.close();
      await b.close();
    }
  });
});
