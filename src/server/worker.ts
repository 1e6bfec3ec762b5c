/**
 * The server's worker task file (HostInternals.workerModule): a LedgerHost worker
 * (host/worker.ts) that also serves network clients for its own groups on its own client
 * port (the node's client port + 1 + w, placement.ts), straight from the worker thread. A
 * request for a group placed on another worker of the node gets ERR_MOVED with that
 * worker's port.
 *
 * The port has the node client port's limits, TLS material and client auth (the server's
 * clientListenerOptions). It is the worker's Attachment: a reload (LedgerHost.prepareReload)
 * checks and swaps its material together with the worker's Raft transport, and its
 * counters reach the server's /metrics (LedgerHost.attachmentStats).
 */
import { runShardWorker, type Attachment, type WorkerTask } from '../host/worker.js';
import type { GroupShard, ShardConfig } from '../host/shard.js';
import { workerClientAddress, workerFor } from '../host/placement.js';
import { parseHostPort } from '../transport/address.js';
import { ClientListener, ledgerMapRouter, type ClientListenerOptions, type LedgerRouter } from './client-listener.js';

export { checkGroupLog } from '../host/worker.js';

/** This file, for LedgerHost.open(options, { workerModule }). */
export const SERVER_WORKER_MODULE = new URL('./worker.js', import.meta.url).href;

export default function runServerWorker(task: WorkerTask): Promise<string> {
  return runShardWorker(task, { onShardOpen: listenForClients });
}

async function listenForClients(shard: GroupShard, config: ShardConfig, log: (line: string) => void): Promise<Attachment | undefined> {
  if (config.clients === undefined) return undefined;
  const { listen, nodeClient, workers } = config.clients;
  const router: LedgerRouter = {
    ...ledgerMapRouter((group) => shard.ledger(group)),
    movedTo: (group) => {
      const owner = workerFor(group, workers);
      return owner === config.worker ? undefined : { id: config.id, address: workerClientAddress(nodeClient, owner) };
    },
  };
  const { host, port } = parseHostPort(listen);
  const options = (config.clients.listenerOptions ?? {}) as Partial<ClientListenerOptions>;
  const identity = { serverId: config.id, clusterId: config.dirClusterId, clusterUid: config.clusterUid };
  const listener = new ClientListener({ ...options, host, port, router, identity, log: (line) => log(`[${config.id}] worker ${config.worker} clients: ${line}`) });
  try {
    // The material in force on the node (read once at open, or the last reload's), not the files'.
    if (config.material !== undefined) listener.prepareReload(config.material)();
    await listener.listen();
  } catch (error) {
    await listener.close();
    throw error;
  }
  return {
    close: () => listener.close(),
    prepareReload: (material) => listener.prepareReload(material),
    stats: () => ({ ...listener.stats() }),
  };
}
