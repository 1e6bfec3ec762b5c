import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/raft/types.js';
import { encodeFrame, FrameKind, FrameReader } from '../../src/transport/frame.js';
import { decodeHandshake, encodeHandshake } from '../../src/transport/handshake.js';
import { DEFAULT_RECONNECT, PeerTransport, type PeerTransportOptions } from '../../src/transport/peer-transport.js';
import { loopbackPeer } from '../support/loopback-peer.js';
import { DEFAULT_TICK_MS } from '../../src/raft/config.js';
import { REPLICA_ELECTION_TICKS } from '../../src/replica/ledger-types.js';
import { encodeRaftMessage, type WireEntry } from '../../src/transport/raft-codec.js';
import { makeEntries, makeEntry, normalize } from './helpers.js';

const HOST = '127.0.0.1';
const BOUND_MS = 10_000; // generous upper bound on any wait; tests wait on events, not on time

/** Things that happened, with a way to wait (bounded) until a condition over them holds. */
class Events {
  readonly messages: { at: string; group: number; message: Message; from: string }[] = [];
  readonly ups: string[] = [];
  readonly downs: string[] = [];
  readonly logs: string[] = [];
  #waiters = new Set<() => void>();

  notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  until(what: string, predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for: ${what}\nlogs:\n${this.logs.slice(-30).join('\n')}`));
      }, BOUND_MS);
      this.#waiters.add(check);
    });
  }
}

let open: PeerTransport[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function transport(ev: Events, id: string, peers: Record<string, string>, overrides: Partial<PeerTransportOptions> = {}): PeerTransport {
  const t = new PeerTransport(loopbackPeer(id, peers, 'test-cluster', {
    onMessage: (group, message, from) => {
      ev.messages.push({ at: id, group, message, from });
      ev.notify();
    },
    onPeerUp: (peer) => {
      ev.ups.push(`${id}<->${peer}`);
      ev.notify();
    },
    onPeerDown: (peer, reason) => {
      ev.downs.push(`${id}<->${peer}: ${reason}`);
      ev.notify();
    },
    log: (line) => {
      ev.logs.push(line);
      ev.notify();
    },
    ...overrides,
  }, 100));
  open.push(t);
  return t;
}

async function cluster(ev: Events, ids: string[], overrides: Partial<PeerTransportOptions> = {}): Promise<Map<string, PeerTransport>> {
  const ts = new Map<string, PeerTransport>();
  for (const id of ids) ts.set(id, transport(ev, id, Object.fromEntries(ids.filter((p) => p !== id).map((p) => [p, ''])), overrides));
  const addrs = new Map<string, string>();
  for (const [id, t] of ts) {
    const { port } = await t.start();
    addrs.set(id, `${HOST}:${port}`);
  }
  for (const [id, t] of ts) for (const p of ids) if (p !== id) t.setPeerAddress(p, addrs.get(p)!);
  await ev.until('all pairs connected', () => ids.every((id) => ids.every((p) => p === id || ts.get(id)!.isConnected(p))));
  return ts;
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
}

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port }, () => resolve(s));
    s.on('error', reject);
    sockets.push(s);
  });
}

function closedPromise(s: net.Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
}

const hb = (from: string, to: string, commit: number): Message => ({ type: 'heartbeat', from, to, term: 1, commit });

describe('PeerTransport', () => {
  it('connects every pair once (smaller id dials) and carries messages both ways, batched per turn', async () => {
    const ev = new Events();
    const ids = ['a', 'b', 'c'];
    const ts = await cluster(ev, ids);
    for (const id of ids) {
      for (const p of ids) {
        if (p === id) continue;
        const s = ts.get(id)!.stats().peers[p]!;
        expect(s.connects, `${id}->${p}`).toBe(1);
        expect(s.direction, `${id}->${p}`).toBe(id < p ? 'dialed' : 'accepted');
      }
    }
    // Every node sends to every other: a heartbeat and an append with entries, on group ids per sender.
    const sent: { at: string; group: number; message: Message; from: string }[] = [];
    for (const [gi, id] of ids.entries()) {
      for (const p of ids) {
        if (p === id) continue;
        const entries = makeEntries(10, 3, 2);
        const msgs: Message[] = [hb(id, p, 5), { type: 'append', from: id, to: p, term: 2, prevIndex: 10, prevTerm: 1, entries, commit: 9 }];
        for (const m of msgs) {
          expect(ts.get(id)!.send(1000 + gi, m)).toBe(true);
          sent.push({ at: p, group: 1000 + gi, message: m, from: id });
        }
      }
    }
    await ev.until('all 12 messages delivered', () => ev.messages.length >= sent.length);
    const key = (x: { at: string; group: number; message: Message; from: string }): string =>
      JSON.stringify({ at: x.at, group: x.group, from: x.from, m: normalize(x.message) });
    expect(ev.messages.map(key).sort()).toEqual(sent.map(key).sort());

    // Batching: 200 messages sent in one turn leave in a single socket write.
    const a = ts.get('a')!;
    const before = a.stats().peers.b!;
    const firstIndex = ev.messages.length;
    for (let i = 0; i < 200; i++) a.send(7, hb('a', 'b', i));
    await ev.until('200 heartbeats at b', () => ev.messages.length >= firstIndex + 200);
    const after = a.stats().peers.b!;
    expect(after.framesOut - before.framesOut).toBe(200);
    expect(after.writes - before.writes).toBe(1);
    // In order.
    expect(ev.messages.slice(firstIndex).map((m) => (m.message.type === 'heartbeat' ? m.message.commit : -1))).toEqual([...Array(200).keys()]);
    expect(ts.get('b')!.stats().peers.a!.framesIn).toBeGreaterThanOrEqual(200);
  });

  it('reconnects after a peer closes and restarts on the same port', async () => {
    const ev = new Events();
    const ts = await cluster(ev, ['a', 'b', 'c']);
    const b = ts.get('b')!;
    const port = b.address!.port;
    await b.close();
    await ev.until('a and c see b down', () => !ts.get('a')!.isConnected('b') && !ts.get('c')!.isConnected('b'));
    expect(ts.get('a')!.send(1, hb('a', 'b', 1))).toBe(false); // dropped while b is away
    expect(ts.get('a')!.stats().peers.b!.dropped).toBeGreaterThanOrEqual(1);

    const b2 = transport(ev, 'b', { a: `${HOST}:${ts.get('a')!.address!.port}`, c: `${HOST}:${ts.get('c')!.address!.port}` }, { listen: { host: HOST, port } });
    await b2.start();
    await ev.until('b reconnected to a and c', () => b2.isConnected('a') && b2.isConnected('c') && ts.get('a')!.isConnected('b') && ts.get('c')!.isConnected('b'));
    const n = ev.messages.length;
    ts.get('a')!.send(3, hb('a', 'b', 11));
    b2.send(4, hb('b', 'c', 12));
    ts.get('c')!.send(5, hb('c', 'b', 13));
    await ev.until('messages over the new connections', () => ev.messages.length >= n + 3);
    expect(ev.messages.slice(n).map((m) => `${m.from}->${m.at}@${m.group}`).sort()).toEqual(['a->b@3', 'b->c@4', 'c->b@5']);
    expect(ts.get('a')!.stats().peers.b!.connects).toBe(2);
  });

  it('closes a connection that sends garbage or an oversized frame; other connections keep working', async () => {
    const ev = new Events();
    const ts = await cluster(ev, ['a', 'b', 'c'], { maxFrameBytes: 64 * 1024 });
    const c = ts.get('c')!;
    const port = c.address!.port;

    // 1. Garbage before any handshake: an HTTP request (its first 4 bytes read as a huge length)
    //    and a plausible length followed by a bad version byte.
    const h = await rawConnect(port);
    h.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await closedPromise(h);
    const g = await rawConnect(port);
    g.write(Buffer.from([16, 0, 0, 0, 0xee, 0xff, 1, 2, 3]));
    await closedPromise(g);
    // 2. A frame header claiming more than the pre-handshake cap.
    const o = await rawConnect(port);
    const huge = Buffer.alloc(6);
    huge.writeUInt32LE(100 * 1024 * 1024, 0);
    huge[4] = 1;
    huge[5] = FrameKind.Raft;
    o.write(huge);
    await closedPromise(o);
    await ev.until('three protocol errors at c', () => c.stats().protocolErrors >= 3);
    expect(ev.logs.some((l) => /transport c\].*exceeds the cap/.test(l))).toBe(true);
    expect(ev.logs.some((l) => /transport c\].*unsupported protocol version 238/.test(l))).toBe(true);

    // Others unharmed.
    expect(c.isConnected('a') && c.isConnected('b')).toBe(true);
    const n = ev.messages.length;
    ts.get('a')!.send(1, hb('a', 'c', 1));
    c.send(2, hb('c', 'b', 2));
    await ev.until('traffic after garbage', () => ev.messages.length >= n + 2);
  });

  it('closes an authenticated connection on an oversized or misaddressed frame after the handshake', async () => {
    const ev = new Events();
    const maxFrameBytes = 16 * 1024;
    // 'a' is a configured peer that is not running; a raw socket speaks for it (a < c: a dials).
    const c = transport(ev, 'c', { a: '' }, { maxFrameBytes });
    const { port } = await c.start();
    const handshakeFrom = (s: net.Socket): Promise<void> =>
      new Promise((resolve, reject) => {
        const reader = new FrameReader();
        s.on('data', (chunk: Buffer) => {
          for (const f of reader.frames(chunk)) {
            if (f.kind === FrameKind.Handshake && decodeHandshake(f.body).nodeId === 'c') resolve();
            else reject(new Error(`unexpected frame kind ${f.kind}`));
          }
        });
      });
    for (const [label, payload, reason] of [
      ['oversized', (() => { const h = Buffer.alloc(6); h.writeUInt32LE(maxFrameBytes + 1, 0); h[4] = 1; h[5] = FrameKind.Raft; return h; })(), /exceeds the cap/],
      ['wrong sender', encodeRaftMessage(0, hb('b', 'c', 1)), /message from "b"/],
      ['unexpected kind', encodeFrame(FrameKind.ClientRequest, Buffer.alloc(9)), /unexpected frame kind 16/],
    ] as [string, Buffer, RegExp][]) {
      const s = await rawConnect(port);
      const answered = handshakeFrom(s);
      s.write(encodeHandshake({ clusterId: 'test-cluster', segmentSizeBytes: 1 << 20, nodeId: 'a', targetId: 'c' }));
      await answered;
      await ev.until(`${label}: c sees a up`, () => c.isConnected('a'));
      s.write(payload);
      await closedPromise(s);
      await ev.until(`${label}: c sees a down`, () => !c.isConnected('a'));
      expect(ev.downs.at(-1), label).toMatch(reason);
    }
    expect(c.stats().protocolErrors).toBe(3);
    expect(ev.messages).toHaveLength(0);
  });

  it('refuses handshakes with another cluster id or segment size, and unexpected nodes', async () => {
    for (const [override, reason] of [
      [{ handshake: { clusterId: 'other-cluster', segmentSizeBytes: 1 << 20 } }, /cluster id mismatch/],
      [{ handshake: { clusterId: 'test-cluster', segmentSizeBytes: 1 << 21 } }, /segment size mismatch/],
    ] as [Partial<PeerTransportOptions>, RegExp][]) {
      const ev = new Events();
      const x = transport(ev, 'x', { y: '' });
      const y = transport(ev, 'y', { x: '' }, override);
      const { port } = await y.start();
      await x.start();
      x.setPeerAddress('y', `${HOST}:${port}`);
      await ev.until(`y refuses (${reason})`, () => ev.logs.some((l) => l.startsWith('[transport y] refusing') && reason.test(l)));
      await ev.until('x logs the reason it was given', () => ev.logs.some((l) => l.startsWith('[transport x]') && /refused by the peer/.test(l) && reason.test(l)));
      expect(ev.ups).toEqual([]);
      expect(x.isConnected('y') || y.isConnected('x')).toBe(false);
      expect(y.stats().refused).toBeGreaterThanOrEqual(1);
      await Promise.all([x.close(), y.close()]);
    }

    // A node that must accept (larger id) but dials, an unknown node, and a duplicate are refused too.
    const ev = new Events();
    const ts = await cluster(ev, ['a', 'b']);
    const port = ts.get('b')!.address!.port;
    for (const [nodeId, reason] of [
      ['z', /unknown node id "z"/],
      ['a', /duplicate connection/],
    ] as [string, RegExp][]) {
      const s = await rawConnect(port);
      s.resume();
      s.write(encodeHandshake({ clusterId: 'test-cluster', segmentSizeBytes: 1 << 20, nodeId, targetId: 'b' }));
      await closedPromise(s);
      await ev.until(`refused ${nodeId}`, () => ev.logs.some((l) => reason.test(l)));
    }
    const wrongWay = transport(ev, 'c', { a: '' }); // 'c' may only accept from 'a'
    await wrongWay.start();
    const s = await rawConnect(ts.get('a')!.address!.port);
    s.resume();
    s.write(encodeHandshake({ clusterId: 'test-cluster', segmentSizeBytes: 1 << 20, nodeId: 'b', targetId: 'a' }));
    await closedPromise(s);
    await ev.until('a refuses b dialing', () => ev.logs.some((l) => /must accept, not dial/.test(l)));
    expect(ts.get('a')!.isConnected('b')).toBe(true);
  });

  it('admits a newer member it does not know when that member is the dialer, so it can hear from it (a leader that joined later); a larger unknown id and a removed one stay refused', async () => {
    const ev = new Events();
    const old = transport(ev, 'n4', { n0: '' }); // started with an old configuration: no n3
    const { port } = await old.start();
    const newer = transport(ev, 'n3', { n4: `${HOST}:${port}` }); // n3 < n4: n3 dials
    await newer.start();
    await ev.until('n3 and n4 connected', () => old.isConnected('n3') && newer.isConnected('n4'));
    expect(old.peerIds).toContain('n3');
    expect(newer.send(0, hb('n3', 'n4', 7))).toBe(true);
    expect(old.send(0, hb('n4', 'n3', 8))).toBe(true); // the answer goes back on the admitted link
    await ev.until('both heartbeats arrive', () => ev.messages.some((m) => m.at === 'n4' && m.from === 'n3') && ev.messages.some((m) => m.at === 'n3' && m.from === 'n4'));

    old.removePeer('n3');
    await ev.until('n4 refuses the removed n3', () => ev.logs.some((l) => l.startsWith('[transport n4] refusing') && /was removed from the configuration/.test(l)));
    expect(old.isConnected('n3')).toBe(false);

    const s = await rawConnect(port);
    s.resume();
    s.write(encodeHandshake({ clusterId: 'test-cluster', segmentSizeBytes: 1 << 20, nodeId: 'n9', targetId: 'n4' }));
    await closedPromise(s);
    await ev.until('n4 refuses the larger unknown n9', () => ev.logs.some((l) => /unknown node id "n9"/.test(l)));
    expect(old.peerIds).not.toContain('n9');
  });

  it('drops beyond the per-peer queue bound when the peer stops reading', async () => {
    const ev = new Events();
    const cap = 1024 * 1024;
    const c = transport(ev, 'c', { a: '' }, { maxQueuedBytesPerPeer: cap });
    const { port } = await c.start();
    const s = await rawConnect(port);
    const got = new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.write(encodeHandshake({ clusterId: 'test-cluster', segmentSizeBytes: 1 << 20, nodeId: 'a', targetId: 'c' }));
    await got;
    s.pause(); // never read again
    await ev.until('c sees a up', () => c.isConnected('a'));
    const entry: WireEntry = makeEntry(1, 1, 1, Buffer.alloc(60 * 1024, 1));
    const record = entry.record;
    const m: Message = { type: 'append', from: 'c', to: 'a', term: 1, prevIndex: 0, prevTerm: 0, entries: [entry], commit: 0 };
    let accepted = 0;
    let dropped = false;
    for (let turn = 0; turn < 2000 && !dropped; turn++) {
      for (let i = 0; i < 8 && !dropped; i++) {
        if (c.send(1, m)) accepted++;
        else dropped = true;
      }
      await new Promise((r) => setImmediate(r));
      expect(c.stats().peers.a!.queuedBytes).toBeLessThanOrEqual(cap);
    }
    expect(dropped, `queue never filled after ${accepted} messages`).toBe(true);
    const st = c.stats().peers.a!;
    expect(st.connected).toBe(true);
    expect(st.dropped).toBeGreaterThanOrEqual(1);
    expect(st.queuedBytes).toBeLessThanOrEqual(cap);
    expect(accepted).toBeGreaterThan(cap / record.length);
  });

  it('close() is idempotent and leaves no TCP handles', async () => {
    await new Promise((r) => setImmediate(r)); // let earlier tests' destroyed sockets finish closing
    const baseline = tcpHandles();
    const ev = new Events();
    const ts = await cluster(ev, ['a', 'b', 'c']);
    expect(tcpHandles()).toBeGreaterThan(baseline);
    const all = [...ts.values()];
    const first = all.map((t) => t.close());
    const second = all.map((t) => t.close());
    expect(second[0]).toBe(first[0]);
    await Promise.all([...first, ...second]);
    await all[0]![Symbol.asyncDispose]();
    expect(all.every((t) => !t.isConnected('a') && !t.isConnected('b') && !t.isConnected('c'))).toBe(true);
    expect(all[0]!.send(1, hb('a', 'b', 1))).toBe(false);
    await expect(all[0]!.start()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    // Handles disappear once their close callbacks ran.
    await new Promise((r) => setImmediate(r));
    expect(tcpHandles()).toBe(baseline);
  });
});

describe('default reconnect pacing', () => {
  it('caps the backoff well under the minimum election timeout, so a restarted peer is reachable when an election needs it', () => {
    // Only the smaller id dials: after a peer restarts, it waits for our next attempt. With a
    // cap of 1000 ms (before) an election held within a second of a restart lost its votes.
    const minElectionTimeoutMs = REPLICA_ELECTION_TICKS * DEFAULT_TICK_MS;
    expect(DEFAULT_RECONNECT.initialDelayMs).toBeLessThanOrEqual(DEFAULT_RECONNECT.maxDelayMs);
    expect(DEFAULT_RECONNECT.maxDelayMs).toBeLessThanOrEqual(minElectionTimeoutMs);
  });
});
