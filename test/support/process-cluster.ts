/** Multi-process cluster helpers for tests: start servers from dist/, compare their logs. */
import { join } from 'node:path';
import { LocalCluster, type LocalClusterOptions } from '../../dist/tools/cluster/local-cluster.js';
import { connect, type Client, type ConnectOptions } from '../../dist/client/index.js';
import { SegmentedLog } from '../../dist/storage/index.js';
import { waitForLeader, viewCluster } from '../../dist/tools/cluster/cluster-status.js';
import { makeTempDir } from './tmp.js';

export { waitForLeader, viewCluster };

export interface TestCluster {
  cluster: LocalCluster;
  client: Client;
  dir: string;
  logs: string[];
  close(): Promise<void>;
}

/** Fast timings for tests: 5 ms ticks, heartbeat 20 ms, election 150..300 ms. */
export async function startCluster(options: Partial<LocalClusterOptions> = {}, clientOptions: Partial<ConnectOptions> = {}): Promise<TestCluster> {
  const t = makeTempDir('raftledger-pc-');
  const logs: string[] = [];
  const cluster = new LocalCluster({
    replicas: 3,
    dir: t.dir,
    tickMs: 5,
    heartbeatTicks: 4,
    electionTicks: 30,
    segmentSizeBytes: 4 * 1024 * 1024,
    onLog: (id, line) => {
      logs.push(`${id} | ${line}`);
      if (logs.length > 2000) logs.splice(0, 1000);
    },
    ...options,
  });
  await cluster.start();
  // At-least-once: tests using this client read raw record bodies as payloads (an idempotent
  // append's body starts with the producer header); exactly-once: test/cluster/exactly-once.test.ts.
  const client = await connect({ servers: cluster.clientAddresses, deadlineMs: 20_000, idempotent: false, ...clientOptions });
  return {
    cluster,
    client,
    dir: t.dir,
    logs,
    async close() {
      await client.close();
      await cluster.stop();
      t.cleanup();
    },
  };
}

export function replicaDir(tc: TestCluster, id: string, group = 0): string {
  return join(tc.dir, id, `group-${group}`);
}

/** Every replica's records for [1, upTo], as base64 of the on-disk bytes with their pos. */
export async function readRecords(dir: string, upTo: number): Promise<Array<{ pos: number; record: string }>> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    const out: Array<{ pos: number; record: string }> = [];
    for (const e of log.entries(1)) {
      if (e.index > upTo) break;
      out.push({ pos: e.pos, record: e.record.toString('base64') });
    }
    return out;
  } finally {
    await log.close();
  }
}

export async function waitUntil(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
