/**
 * Where groups and workers live. These rules are the same on every node, so a group's
 * replicas always sit on the same worker index everywhere and peer connections stay per
 * worker:
 *
 *  - group g runs on worker (g mod W) on every node (W = workers; W = 0: the calling thread);
 *  - worker w of a node listens for Raft traffic on the node's Raft port + w, and dials
 *    worker w of the other nodes at their Raft port + w. With W > 0 the main thread is
 *    not a Raft endpoint at all; a node needs W consecutive Raft ports
 *    [raftPort, raftPort + W - 1], none of them its client port;
 *  - worker w's handshake cluster id is `<clusterId>/w<w>of<W>`, so a connection that
 *    lands on the wrong worker, or between nodes configured with different W, is refused;
 *  - with per-worker client ports (the server's workers), worker w also serves clients on
 *    the node's client port + 1 + w, for its own groups; the main thread's client port answers data
 *    requests with ERR_MOVED and that address. A node then needs W + 1 consecutive client
 *    ports [clientPort, clientPort + W], none of them a Raft port.
 */
import { formatHostPort, parseHostPort } from '../transport/address.js';

export function workerFor(group: number, workers: number): number {
  return workers <= 0 ? 0 : group % workers;
}

/** The Raft address worker `worker` of a node listens on, given the node's base Raft address. */
export function workerRaftAddress(raft: string, worker: number): string {
  const { host, port } = parseHostPort(raft);
  const p = port + worker;
  if (p > 65535) throw new RangeError(`raft port ${port} + worker ${worker} is out of range`);
  return formatHostPort({ host, port: p });
}

/**
 * How many consecutive ports a node uses: max(1, W) Raft ports, and W + 1 client ports with
 * per-worker client ports (the main thread's and one per worker), else 1.
 */
export function portSpans(workers: number, workerClientPorts: boolean): { raft: number; client: number } {
  return { raft: Math.max(1, workers), client: workerClientPorts && workers > 0 ? workers + 1 : 1 };
}

/** The client address worker `worker` of a node serves, given the node's (main-thread) client address. */
export function workerClientAddress(client: string, worker: number): string {
  const { host, port } = parseHostPort(client);
  const p = port + 1 + worker;
  if (p > 65535) throw new RangeError(`client port ${port} + 1 + worker ${worker} is out of range`);
  return formatHostPort({ host, port: p });
}

export function workerClusterId(clusterId: string, worker: number, workers: number): string {
  return workers <= 0 ? clusterId : `${clusterId}/w${worker}of${workers}`;
}

interface PortRange {
  id: string;
  what: 'raft' | 'client';
  host: string;
  from: number;
  to: number;
}

/**
 * The port plan of a cluster: each node's Raft ports [raft, raft + max(1, W) - 1] and client
 * ports [client, client + C - 1] (C = W + 1 with per-worker client ports, else 1) must be in
 * range and must not overlap, neither within a node nor between two nodes on the same host
 * (a layout with nodes one port apart collides as soon as W > 1). A node's own collision is
 * reported before any collision between nodes.
 */
export function checkClusterPortPlan(peers: Record<string, { raft: string; client: string }>, workers: number, workerClientPorts = false): void {
  const { raft: raftSpan, client: clientSpan } = portSpans(workers, workerClientPorts);
  const ranges: PortRange[] = [];
  for (const [id, p] of Object.entries(peers)) {
    const r = parseHostPort(p.raft);
    const c = parseHostPort(p.client);
    if (r.port + raftSpan - 1 > 65535) throw new RangeError(`node ${id}: raft ports ${r.port}..${r.port + raftSpan - 1} are out of range`);
    if (c.port + clientSpan - 1 > 65535) throw new RangeError(`node ${id}: client ports ${c.port}..${c.port + clientSpan - 1} are out of range`);
    ranges.push({ id, what: 'raft', host: r.host, from: r.port, to: r.port + raftSpan - 1 });
    ranges.push({ id, what: 'client', host: c.host, from: c.port, to: c.port + clientSpan - 1 });
  }
  const overlap = (a: PortRange, b: PortRange): boolean =>
    (a.host === b.host || a.host === '0.0.0.0' || b.host === '0.0.0.0') && a.from <= b.to && b.from <= a.to;
  for (const sameNode of [true, false]) {
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const a = ranges[i]!;
        const b = ranges[j]!;
        if ((a.id === b.id) !== sameNode || !overlap(a, b)) continue;
        if (sameNode) {
          const [raft, client] = a.what === 'raft' ? [a, b] : [b, a];
          throw new RangeError(`node ${a.id}: client ports ${client.from}..${client.to} collide with the raft ports ${raft.from}..${raft.to}`);
        }
        throw new RangeError(
          `nodes ${a.id} and ${b.id} share ports: ${a.id}'s ${a.what} ports ${a.from}..${a.to} and ${b.id}'s ${b.what} ports ${b.from}..${b.to} (with ${workers} workers a node uses ${raftSpan} raft and ${clientSpan} client port(s); space the nodes further apart)`,
        );
      }
    }
  }
}
