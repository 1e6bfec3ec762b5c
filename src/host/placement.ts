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
 *  - with per-worker client ports (HostServer), worker w also serves clients on the node's
 *    client port + 1 + w, for its own groups; the main thread's client port answers data
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

/**
 * A node's Raft ports [raft, raft + max(1, W) - 1] and client ports [client, client + C - 1]
 * (C = W + 1 with per-worker client ports, else 1) must be in range and must not overlap.
 */
export function checkPortPlan(id: string, raft: string, client: string, workers: number, workerClientPorts = false): void {
  const r = parseHostPort(raft);
  const c = parseHostPort(client);
  const raftSpan = Math.max(1, workers);
  const clientSpan = workerClientPorts && workers > 0 ? workers + 1 : 1;
  if (r.port + raftSpan - 1 > 65535) throw new RangeError(`node ${id}: raft ports ${r.port}..${r.port + raftSpan - 1} are out of range`);
  if (c.port + clientSpan - 1 > 65535) throw new RangeError(`node ${id}: client ports ${c.port}..${c.port + clientSpan - 1} are out of range`);
  const sameHost = c.host === r.host || c.host === '0.0.0.0' || r.host === '0.0.0.0';
  if (sameHost && c.port < r.port + raftSpan && r.port < c.port + clientSpan) {
    throw new RangeError(`node ${id}: client ports ${c.port}..${c.port + clientSpan - 1} collide with the raft ports ${r.port}..${r.port + raftSpan - 1}`);
  }
}

/**
 * checkPortPlan for every node, and no port shared between two nodes on the same host
 * (a layout with nodes one port apart collides as soon as W > 1).
 */
export function checkClusterPortPlan(peers: Record<string, { raft: string; client: string }>, workers: number, workerClientPorts = false): void {
  const ranges: Array<{ id: string; what: string; host: string; from: number; to: number }> = [];
  const clientSpan = workerClientPorts && workers > 0 ? workers + 1 : 1;
  for (const [id, p] of Object.entries(peers)) {
    checkPortPlan(id, p.raft, p.client, workers, workerClientPorts);
    const r = parseHostPort(p.raft);
    const c = parseHostPort(p.client);
    ranges.push({ id, what: 'raft', host: r.host, from: r.port, to: r.port + Math.max(1, workers) - 1 });
    ranges.push({ id, what: 'client', host: c.host, from: c.port, to: c.port + clientSpan - 1 });
  }
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      if (a.id === b.id) continue;
      const sameHost = a.host === b.host || a.host === '0.0.0.0' || b.host === '0.0.0.0';
      if (sameHost && a.from <= b.to && b.from <= a.to) {
        throw new RangeError(
          `nodes ${a.id} and ${b.id} share ports: ${a.id}'s ${a.what} ports ${a.from}..${a.to} and ${b.id}'s ${b.what} ports ${b.from}..${b.to} (with ${workers} workers a node uses ${Math.max(1, workers)} raft and ${clientSpan} client port(s); space the nodes further apart)`,
        );
      }
    }
  }
}
