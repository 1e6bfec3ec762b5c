/**
 * Mutual TLS on the Raft port, in process: peers of one CA connect; plaintext, another
 * CA's certificate and another node's certificate are refused at the handshake (counted by
 * reason, logged with the remote address) while the established connection keeps working;
 * reloadTls() swaps the material for new connections. Certificates: test/support/certs.ts.
 */
import * as net from 'node:net';
import { copyFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../support/wait.js';
import type { Message } from '../../src/raft/types.js';
import { FrameKind, FrameReader } from '../../src/transport/frame.js';
import { encodeHandshake } from '../../src/transport/handshake.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import { loopbackPeer } from '../support/loopback-peer.js';
import { certificateNames, identityProblem, tokensEqual, type TlsFiles } from '../../src/transport/tls.js';
import { certAuthority, copyLeaf, type CertAuthority, type LeafFiles } from '../support/certs.js';

const HOST = '127.0.0.1';
const BOUND_MS = 10_000;

let ca: CertAuthority;
let other: CertAuthority;
beforeAll(() => {
  ca = certAuthority('cluster');
  other = certAuthority('other', ca.dir);
});
afterAll(() => ca?.dispose());

const open: PeerTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const until = (what: string, predicate: () => boolean, logs: string[]): Promise<void> => pollUntil(predicate, what, { limitMs: BOUND_MS, logs: () => logs });

const hb = (from: string, to: string, commit: number): Message => ({ type: 'heartbeat', from, to, term: 1, commit });

function node(id: string, peers: Record<string, string>, tls: TlsFiles, logs: string[], got: Message[] = []): PeerTransport {
  const t = new PeerTransport(
    loopbackPeer(id, peers, 'tls-test', {
      handshakeTimeoutMs: 3000,
      tls,
      onMessage: (_group, message) => got.push(message),
      log: (line) => logs.push(line),
    }),
  );
  open.push(t);
  return t;
}

describe('certificate identity and token comparison', () => {
  it('names a certificate by its SAN DNS/URI entries and CN, and checks the node id against them', () => {
    const cert = { subject: { CN: 'n1' }, subjectaltname: 'DNS:n1, DNS:localhost, IP Address:127.0.0.1, URI:spiffe://c/n1' } as never;
    expect(certificateNames(cert)).toEqual(['n1', 'localhost', 'spiffe://c/n1', 'n1']);
    expect(identityProblem(cert, 'n1')).toBeNull();
    expect(identityProblem(cert, 'n2')).toMatch(/not node "n2"/);
    expect(identityProblem({ subject: { CN: 'n3' } } as never, 'n3')).toBeNull();
    expect(identityProblem({} as never, 'n1')).toMatch(/names nothing/);
    // An IP SAN is not a name: a certificate for 127.0.0.1 does not name node "127.0.0.1".
    expect(identityProblem({ subjectaltname: 'IP Address:127.0.0.1' } as never, '127.0.0.1')).not.toBeNull();
  });

  it('compares tokens of any lengths', () => {
    expect(tokensEqual('secret', 'secret')).toBe(true);
    expect(tokensEqual('secret', 'secreT')).toBe(false);
    expect(tokensEqual('secret', 'secret-longer')).toBe(false);
    expect(tokensEqual('', 'x')).toBe(false);
    expect(tokensEqual(Buffer.from('abc'), 'abc')).toBe(true);
  });
});

describe('PeerTransport with mutual TLS', () => {
  it('connects peers of one CA and refuses plaintext, another CA and another node\'s certificate', async () => {
    const logs: string[] = [];
    const got: Message[] = [];
    const b = node('n2', { n1: '' }, ca.issue('n2'), logs, got);
    const bAddr = await b.start();
    const a = node('n1', { n2: `${HOST}:${bAddr.port}` }, ca.issue('n1'), logs);
    await a.start();
    await until('n1 connected to n2', () => a.isConnected('n2'), logs);
    expect(a.send(0, hb('n1', 'n2', 3))).toBe(true);
    await until('heartbeat delivered', () => got.length === 1, logs);

    // Plaintext: a handshake frame sent in the clear gets a plaintext Reject and is closed.
    const plain = net.connect({ host: HOST, port: bAddr.port });
    const reader = new FrameReader({ maxFrameBytes: 4096 });
    const kinds: number[] = [];
    plain.on('data', (chunk: Buffer) => {
      for (const f of reader.frames(chunk)) kinds.push(f.kind);
    });
    plain.on('error', () => {});
    const closed = new Promise((r) => plain.on('close', r));
    plain.write(encodeHandshake({ clusterId: 'tls-test', segmentSizeBytes: 1 << 20, nodeId: 'n1', targetId: 'n2' }));
    await closed;
    expect(kinds).toEqual([FrameKind.Reject]);
    await until('plaintext counted', () => b.stats().refusedByReason.plaintext === 1, logs);
    expect(logs.some((l) => /refusing inbound connection from 127\.0\.0\.1:\d+: plaintext/.test(l))).toBe(true);

    // Another CA: the TLS handshake fails on n2's side.
    const stranger = node('n0', { n2: `${HOST}:${bAddr.port}` }, { ...other.issue('n0'), ca: ca.ca }, logs);
    await stranger.start();
    await until('wrong CA refused', () => (b.stats().refusedByReason.tls ?? 0) >= 1, logs);
    expect(stranger.isConnected('n2')).toBe(false);
    expect(logs.some((l) => /refusing inbound connection from 127\.0\.0\.1:\d+: TLS (handshake failed|certificate refused)/.test(l)), logs.join("\n")).toBe(true);
    await stranger.close();

    // Another node's certificate: n1's id with n3's certificate (same CA) is refused by identity.
    const impostor = node('n1', { n2: `${HOST}:${bAddr.port}` }, ca.issue('n3'), logs);
    await impostor.start();
    await until('impostor refused', () => (b.stats().refusedByReason.identity ?? 0) >= 1, logs);
    expect(logs.some((l) => /certificate names "n3".*not node "n1"/.test(l))).toBe(true);
    await impostor.close();

    // The real connection carried on throughout.
    expect(a.isConnected('n2')).toBe(true);
    expect(a.send(0, hb('n1', 'n2', 4))).toBe(true);
    await until('second heartbeat delivered', () => got.length === 2, logs);
  });

  it('reloadTls() rotates to a new CA for new connections; a bad reload keeps the old material', async () => {
    const logs: string[] = [];
    const rotated = certAuthority('rotated', ca.dir);
    const files = { cert: `${ca.dir}/live-n2.crt`, key: `${ca.dir}/live-n2.key`, ca: `${ca.dir}/live-ca.crt` };
    const put = (src: LeafFiles): void => copyLeaf(src, files);
    put(ca.issue('n2'));
    const b = node('n2', { n1: '' }, files, logs);
    const bAddr = await b.start();

    // A failed reload (a key file that is not a key) throws ERR_TLS and keeps the old context.
    copyFileSync(files.key, `${ca.dir}/saved.key`);
    writeFileSync(files.key, 'not a key');
    expect(() => b.reloadTls()).toThrow(/TLS/);
    copyFileSync(`${ca.dir}/saved.key`, files.key);

    const oldDialer = node('n1', { n2: `${HOST}:${bAddr.port}` }, ca.issue('n1'), logs);
    await oldDialer.start();
    await until('old CA connects before the rotation', () => oldDialer.isConnected('n2'), logs);
    await oldDialer.close();

    put(rotated.issue('n2'));
    b.reloadTls();
    expect(logs.some((l) => l.includes('TLS material reloaded'))).toBe(true);
    const newDialer = node('n1', { n2: `${HOST}:${bAddr.port}` }, rotated.issue('n1'), logs);
    await newDialer.start();
    await until('new CA connects after the rotation', () => newDialer.isConnected('n2'), logs);
    await newDialer.close();

    const before = b.stats().refusedByReason.tls ?? 0;
    const stale = node('n1', { n2: `${HOST}:${bAddr.port}` }, ca.issue('n1'), logs);
    await stale.start();
    await until('old CA refused after the rotation', () => (b.stats().refusedByReason.tls ?? 0) > before, logs);
    expect(stale.isConnected('n2')).toBe(false);
  });
});
