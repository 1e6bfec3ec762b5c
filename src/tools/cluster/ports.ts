/** Find `count` consecutive free TCP ports on a host (for worker Raft ports; tests and LocalCluster). */
import { createServer, type Server } from 'node:net';
import { formatHostPort } from '../../transport/address.js';
import { portSpans } from '../../host/placement.js';

function listen(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * The first of `count` consecutive ports that were all free a moment ago (they are released
 * before this resolves, so another process could still take one: callers retry on EADDRINUSE).
 */
export async function freeConsecutivePorts(count: number, host = '127.0.0.1', exclude: ReadonlySet<number> = new Set()): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError('count must be an integer in [1, 1000]');
  for (let attempt = 0; attempt < 200; attempt++) {
    // Let the OS pick the first one, then try to extend upwards.
    const first = await listen(0, host);
    if (first === null) continue;
    const base = (first.address() as { port: number }).port;
    const held: Server[] = [first];
    let ok = !exclude.has(base) && base + count - 1 <= 65535;
    for (let p = base + 1; ok && p < base + count; p++) {
      if (exclude.has(p)) {
        ok = false;
        break;
      }
      const s = await listen(p, host);
      if (s === null) ok = false;
      else held.push(s);
    }
    await Promise.all(held.map(close));
    if (ok) return base;
  }
  throw new Error(`could not find ${count} consecutive free ports on ${host}`);
}

/**
 * Loopback addresses for a cluster of nodes on one machine: per node max(1, W) consecutive
 * Raft ports (a server with W workers uses W) and W + 1 consecutive client ports (the main
 * thread's and one per worker; 1 with W = 0), no port shared between nodes. Same caveat as
 * freeConsecutivePorts: free a moment ago.
 */
export async function reserveNodePorts(
  ids: readonly string[],
  workers = 0,
  host = '127.0.0.1',
): Promise<Record<string, { raftPort: number; clientPort: number }>> {
  const { raft: raftSpan, client: clientSpan } = portSpans(workers, true);
  const taken = new Set<number>();
  const out: Record<string, { raftPort: number; clientPort: number }> = {};
  for (const id of ids) {
    const raftPort = await freeConsecutivePorts(raftSpan, host, taken);
    for (let p = raftPort; p < raftPort + raftSpan; p++) taken.add(p);
    const clientPort = await freeConsecutivePorts(clientSpan, host, taken);
    for (let p = clientPort; p < clientPort + clientSpan; p++) taken.add(p);
    out[id] = { raftPort, clientPort };
  }
  return out;
}

/** reserveNodePorts as the addresses LedgerHost.open and Ledger.open take: { id: { raft, client } }. */
export async function reserveNodeAddresses(ids: readonly string[], workers = 0, host = '127.0.0.1'): Promise<Record<string, { raft: string; client: string }>> {
  const ports = await reserveNodePorts(ids, workers, host);
  const out: Record<string, { raft: string; client: string }> = {};
  for (const id of ids) out[id] = { raft: formatHostPort({ host, port: ports[id]!.raftPort }), client: formatHostPort({ host, port: ports[id]!.clientPort }) };
  return out;
}
