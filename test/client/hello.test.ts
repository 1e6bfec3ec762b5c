/**
 * The client hello (op 32, src/client/hello.ts): the first server to answer fixes the
 * cluster uid, a server of another uid is ERR_CLUSTER_MISMATCH at once (nothing else is
 * written to it), connect({ clusterUid }) pins it, and a server from before op 32 (it
 * closes the connection on the hello) is a clear ERR_PROTOCOL, not an endless retry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../src/client/index.js';
import { FakeLog, FakeServer, leader } from './fake-server.js';
import { rejection } from './rejection.js';

const servers: FakeServer[] = [];
const clients: Client[] = [];

async function start(uid: string, serverId: string): Promise<FakeServer> {
  const s = await FakeServer.start(leader(new FakeLog(), serverId));
  s.hello = { protocolVersion: 1, transportVersion: 5, serverId, clusterId: 'raftledger', clusterUid: uid };
  servers.push(s);
  return s;
}

async function open(options: Parameters<typeof connect>[0]): Promise<Client> {
  const c = await connect({ idempotent: false, deadlineMs: 3000, requestTimeoutMs: 1000, ...options });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('client hello', () => {
  it('refuses a server of another cluster uid than the first one seen; nothing is sent to it', async () => {
    const a = await start('aaaaaaaaaaaaaaaa', 'a1');
    const b = await start('bbbbbbbbbbbbbbbb', 'b1');
    const client = await open({ servers: [a.address, b.address] });
    await client.status({ server: a.address });
    expect(client.clusterUid).toBe('aaaaaaaaaaaaaaaa');
    const e = await rejection(client.status({ server: b.address }));
    expect(e.code).toBe('ERR_CLUSTER_MISMATCH');
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/b1.*bbbbbbbbbbbbbbbb.*aaaaaaaaaaaaaaaa/);
    expect(b.requests).toEqual([]);
    // Appends never reach b either, even when a is gone.
    await a.close();
    const append = await rejection(client.append(Buffer.from('x')));
    expect(b.requests).toEqual([]);
    expect(append.code === 'ERR_CLUSTER_MISMATCH' || append.code === 'ERR_TIMEOUT').toBe(true);
  });

  it('connect({ clusterUid }) pins the cluster: another one is refused from the first request', async () => {
    const a = await start('aaaaaaaaaaaaaaaa', 'a1');
    const client = await open({ servers: [a.address], clusterUid: 'cccccccccccccccc' });
    const e = await rejection(client.status());
    expect(e.code).toBe('ERR_CLUSTER_MISMATCH');
    expect(a.requests).toEqual([]);
    const right = await open({ servers: [a.address], clusterUid: 'aaaaaaaaaaaaaaaa' });
    await right.status();
    await expect(connect({ servers: [a.address], clusterUid: 'nope' })).rejects.toThrow(TypeError);
  });

  it('a server that closes the connection on the hello (older than op 32) is ERR_PROTOCOL, not retried until the deadline', async () => {
    const old = await start('aaaaaaaaaaaaaaaa', 'old');
    old.hello = 'drop';
    const client = await open({ servers: [old.address], deadlineMs: 60_000 });
    const e = await rejection(client.status());
    expect(e.code).toBe('ERR_PROTOCOL');
    expect(e.message).toMatch(/closed the connection on the client hello .*older than this client/);
    expect(old.connections).toBe(2); // one retry, then the verdict (the deadline is far)
  });
});
