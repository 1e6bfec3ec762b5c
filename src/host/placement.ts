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
 *    lands on the wrong worker, or between nodes configured with different W, is refused.
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

export function workerClusterId(clusterId: string, worker: number, workers: number): string {
  return workers <= 0 ? clusterId : `${clusterId}/w${worker}of${workers}`;
}

/** A node's worker ports [raft, raft + workers - 1] must not include its client port. */
export function checkPortPlan(id: string, raft: string, client: string, workers: number): void {
  const r = parseHostPort(raft);
  const c = parseHostPort(client);
  const span = Math.max(1, workers);
  if (r.port + span - 1 > 65535) throw new RangeError(`node ${id}: raft ports ${r.port}..${r.port + span - 1} are out of range`);
  if (c.port >= r.port && c.port < r.port + span && (c.host === r.host || c.host === '0.0.0.0' || r.host === '0.0.0.0')) {
    throw new RangeError(`node ${id}: client port ${c.port} collides with the worker raft ports ${r.port}..${r.port + span - 1}`);
  }
}
