/** PeerTransport.addPeer/removePeer: peer links added and removed at runtime (membership change). */
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../support/wait.js';
import type { Message } from '../../src/raft/types.js';
import { formatHostPort } from '../../src/transport/address.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';

const HOST = '127.0.0.1';
const BOUND_MS = 10_000;

let open: PeerTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Node {
  t: PeerTransport;
  got: Message[];
  logs: string[];
  ups: string[];
}

function node(id: string, peers: Record<string, string> = {}): Node {
  const n: Node = { t: undefined as unknown as PeerTransport, got: [], logs: [], ups: [] };
  n.t = new PeerTransport({
    id,
    listen: { host: HOST, port: 0 },
    peers,
    handshake: { clusterId: 'c', segmentSizeBytes: 1 << 20 },
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    onMessage: (_g, m) => n.got.push(m),
    onPeerUp: (p) => n.ups.push(p),
    log: (line) => n.logs.push(line),
  });
  open.push(n.t);
  return n;
}

const until = (what: string, predicate: () => boolean, logs: () => string[] = () => []): Promise<void> =>
  pollUntil(predicate, what, { limitMs: BOUND_MS, stepMs: 5, logs: () => logs().slice(-20) });

function heartbeat(from: string, to: string, term: number): Message {
  return { type: 'heartbeat', from, to, term, commit: 0 } as Message;
}

async function addr(n: Node): Promise<string> {
  return formatHostPort(await n.t.start());
}

describe('PeerTransport runtime peers', () => {
  it('a peer added on both sides connects and carries messages, whichever side dials', async () => {
    const a = node('a');
    const b = node('b');
    const [aa, ba] = [await addr(a), await addr(b)];
    expect(() => a.t.send(0, heartbeat('a', 'b', 1))).toThrow(TypeError); // not known yet
    b.t.addPeer('a', aa); // b accepts from a (the smaller id dials)
    a.t.addPeer('b', ba);
    await until('connected', () => a.t.isConnected('b') && b.t.isConnected('a'), () => [...a.logs, ...b.logs]);
    expect(a.t.peerIds).toEqual(['b']);
    expect(a.t.send(0, heartbeat('a', 'b', 1))).toBe(true);
    expect(b.t.send(0, heartbeat('b', 'a', 2))).toBe(true);
    await until('both messages', () => a.got.length === 1 && b.got.length === 1);
    expect(b.got[0]!.term).toBe(1);
    expect(a.got[0]!.term).toBe(2);
  });

  it('a removed peer is disconnected, not redialed, refused, and messages for it are dropped', async () => {
    const a = node('a');
    const b = node('b');
    const [aa, ba] = [await addr(a), await addr(b)];
    a.t.addPeer('b', ba);
    b.t.addPeer('a', aa);
    await until('connected', () => a.t.isConnected('b') && b.t.isConnected('a'));
    // b (the acceptor) forgets a: a's redials are refused with the reason
    b.t.removePeer('a');
    expect(b.t.peerIds).toEqual([]);
    await until('a sees the refusal', () => a.logs.some((l) => l.includes('was removed from the configuration')), () => a.logs);
    expect(b.t.send(0, heartbeat('b', 'a', 1))).toBe(false);
    expect(() => b.t.send(0, heartbeat('b', 'zz', 1))).toThrow(TypeError); // never known: still misuse
    expect(b.t.stats().peers.a).toBeUndefined();
    // a (the dialer) forgets b: no more dials
    a.t.removePeer('a'); // not a peer: no-op
    a.t.removePeer('b');
    const refusalsBefore = b.logs.filter((l) => l.includes('refusing')).length;
    await new Promise((r) => setTimeout(r, 200));
    expect(b.logs.filter((l) => l.includes('refusing')).length).toBe(refusalsBefore);
    expect(a.t.isConnected('b')).toBe(false);
  });

  it('a removed peer added again reconnects', async () => {
    const a = node('a');
    const b = node('b');
    const [aa, ba] = [await addr(a), await addr(b)];
    a.t.addPeer('b', ba);
    b.t.addPeer('a', aa);
    await until('connected', () => a.t.isConnected('b'));
    a.t.removePeer('b');
    b.t.removePeer('a');
    await until('disconnected', () => !a.t.isConnected('b') && !b.t.isConnected('a'));
    b.t.addPeer('a', aa);
    a.t.addPeer('b', ba);
    await until('reconnected', () => a.t.isConnected('b') && b.t.isConnected('a'), () => [...a.logs, ...b.logs]);
    expect(a.ups.filter((p) => p === 'b').length).toBe(2);
  });

  it('addPeer of a known peer sets its address; addPeer before start dials at start', async () => {
    const b = node('b');
    const ba = await addr(b);
    b.t.addPeer('a', '');
    const a = node('a', { b: '' });
    a.t.addPeer('b', ba); // known with no address: set it
    await a.t.start();
    await until('connected', () => a.t.isConnected('b'), () => a.logs);
    expect(a.t.stats().peers.b!.address).toBe(ba);
  });
});
