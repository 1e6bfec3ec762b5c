import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalCluster } from '../../dist/tools/cluster/local-cluster.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-startfail-');

/** Pids of the processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('LocalCluster.start', () => {
  it('stops the servers it started when another fails to start (seen: two servers left running for 45 min)', async () => {
    const dir = tempDir();
    const cluster = new LocalCluster({
      replicas: 3,
      dir,
      durability: 'memory',
      serverArgsFor: (id) => (id === 'n2' ? ['--no-such-flag'] : []),
    });
    await expect(cluster.start()).rejects.toThrow(/n2/);
    // No server of this cluster may outlive the rejection.
    expect(processesMentioning(`${dir}/n`)).toEqual([]);
    await cluster.stop();
  });
});
