/**
 * The client port's TLS and token auth in process (ClientListener over a stub router), and
 * the server config's security keys. The multi-process cases are in tls.test.ts.
 */
import * as net from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientListener } from '../../src/server/client-listener.js';
import { memoryRouter } from './helpers.js';
import { encodeAuthFrame } from '../../src/server/client-auth.js';
import { decodeClientResponseFrame, encodeClientRequest, type ClientResponse } from '../../src/transport/client-codec.js';
import { FrameReader } from '../../src/transport/frame.js';
import { validateConfig } from '../../src/server/config.js';
import { connect } from '../../src/client/index.js';
import { certAuthority, type CertAuthority } from '../support/certs.js';

const router = memoryRouter({ id: 'stub' });

let ca: CertAuthority;
beforeAll(() => {
  ca = certAuthority('unit');
});
afterAll(() => ca?.dispose());

/** Write `bytes` in one write and collect the responses until the server closes. */
function exchange(port: number, bytes: Buffer): Promise<ClientResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const reader = new FrameReader();
    const out: ClientResponse[] = [];
    const timer = setTimeout(() => reject(new Error('no close within 5 s')), 5000);
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.frames(chunk)) {
        out.push(decodeClientResponseFrame(f));
        if (out.length === 1 && out[0]!.kind !== 'error') socket.end();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(bytes);
  });
}

describe('ClientListener with token auth', () => {
  it('serves requests pipelined behind a right token; refuses a wrong or missing one with ERR_AUTH, counted by reason', async () => {
    const tokenFile = join(ca.dir, 'token');
    writeFileSync(tokenFile, '  s3cret \n');
    const logs: string[] = [];
    const listener = new ClientListener({ host: '127.0.0.1', port: 0, router, clientAuth: 'token', tokenFile, log: (l) => logs.push(l) });
    const port = await listener.listen();
    try {
      const status = encodeClientRequest({ id: 1, group: 0, op: 'status' });
      const ok = await exchange(port, Buffer.concat([encodeAuthFrame('s3cret'), status]));
      expect(ok.map((r) => r.kind)).toEqual(['status']);
      const wrong = await exchange(port, Buffer.concat([encodeAuthFrame('s3cret!'), status]));
      expect(wrong).toMatchObject([{ id: 0, kind: 'error', error: { code: 'ERR_AUTH', retriable: false } }]);
      const missing = await exchange(port, status);
      expect(missing).toMatchObject([{ id: 0, kind: 'error', error: { code: 'ERR_AUTH' } }]);
      expect(listener.stats().rejectedByReason).toEqual({ token: 2 });
      expect(logs.filter((l) => /^refusing client 127\.0\.0\.1:\d+: .*\(reason=token\)$/.test(l))).toHaveLength(2);

      // A reload with an unreadable token file fails and keeps the old token.
      writeFileSync(tokenFile, '');
      expect(() => listener.reload()).toThrow(/empty/);
      expect((await exchange(port, Buffer.concat([encodeAuthFrame('s3cret'), status]))).map((r) => r.kind)).toEqual(['status']);
    } finally {
      await listener.close();
    }
  });
});

describe('ClientListener with TLS', () => {
  it('answers a plaintext client with an ERR_TLS notice; a TLS client with the CA is served; connect() reports ERR_TLS for a wrong CA', async () => {
    const logs: string[] = [];
    const other = certAuthority('elsewhere', ca.dir);
    const listener = new ClientListener({ host: '127.0.0.1', port: 0, router, tls: ca.issue('server'), log: (l) => logs.push(l) });
    const port = await listener.listen();
    try {
      const plain = await exchange(port, encodeClientRequest({ id: 1, group: 0, op: 'status' }));
      expect(plain).toMatchObject([{ id: 0, kind: 'error', error: { code: 'ERR_TLS' } }]);
      const client = await connect({ servers: [`127.0.0.1:${port}`], tls: { ca: ca.ca }, deadlineMs: 5000 });
      expect((await client.status()).id).toBe('stub');
      await client.close();
      // The client refuses a server whose certificate its CA did not sign.
      await expect(connect({ servers: [`127.0.0.1:${port}`], tls: { ca: other.ca }, deadlineMs: 5000 })).rejects.toMatchObject({ code: 'ERR_TLS' });
      expect(listener.stats().rejectedByReason?.plaintext).toBe(1);
    } finally {
      await listener.close();
    }
  });
});

describe('server config: TLS and client auth keys', () => {
  const base = { id: 'n0', peers: 'n0=127.0.0.1:7001', dir: '/tmp/x' };
  it('takes the three TLS files together, clientAuth with what it needs, with or without workers', () => {
    const tls = { tlsCert: 'a.crt', tlsKey: 'a.key', tlsCa: 'ca.crt' };
    expect(validateConfig({ ...base, ...tls, clientAuth: 'tls' })).toMatchObject({ ...tls, clientAuth: 'tls' });
    expect(() => validateConfig({ ...base, tlsCert: 'a.crt' })).toThrow(/tlsCert, tlsKey and tlsCa together.*missing: tlsKey, tlsCa/);
    expect(() => validateConfig({ ...base, clientAuth: 'tls' })).toThrow(/clientAuth 'tls' needs TLS/);
    expect(() => validateConfig({ ...base, clientAuth: 'token' })).toThrow(/needs clientTokenFile/);
    expect(() => validateConfig({ ...base, clientTokenFile: 't' })).toThrow(/clientAuth is not 'token'/);
    expect(() => validateConfig({ ...base, clientAuth: 'magic' })).toThrow(/clientAuth must be 'none' or 'tls' or 'token'/);
    // Issue 17: the worker client ports get the same TLS material and client auth.
    expect(validateConfig({ ...base, ...tls, clientAuth: 'tls', workers: 2 })).toMatchObject({ ...tls, clientAuth: 'tls', workers: 2 });
    expect(validateConfig({ ...base, clientAuth: 'token', clientTokenFile: 't' })).toMatchObject({ clientAuth: 'token', clientTokenFile: 't' });
  });
});
