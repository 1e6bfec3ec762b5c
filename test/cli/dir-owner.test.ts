/**
 * Issue 11 item 2 across processes: a server's group directories know their node, cluster
 * and group; a server started on them as another node or cluster exits 2 with ERR_FOREIGN_DIR
 * naming both, before it touches them; a directory from before owners existed is adopted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../dist/client/index.js';
import { useTempDirs } from '../support/tmp.js';
import { freePorts, startServer, type Started } from './server-process.js';

const tempDir = useTempDirs('raftledger-owner-');
const running: Started[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop('SIGKILL');
});

function ownerOf(groupDir: string): unknown {
  return (JSON.parse(readFileSync(join(groupDir, 'raftledger.json'), 'utf8')) as { owner?: unknown }).owner;
}

async function startAndStop(opts: Parameters<typeof startServer>[0], appends = 1): Promise<void> {
  const s = await startServer(opts);
  if (!s.ready) throw new Error(`server did not start: ${s.stderr}`);
  running.push(s.server);
  const client = await connect({ servers: [s.server.client], deadlineMs: 20_000 });
  for (let i = 0; i < appends; i++) await client.append(Buffer.from(`entry ${i}`));
  await client.close();
  expect(await s.server.stop('SIGTERM')).toBe(0);
}

describe('directory identity (multi-process)', () => {
  for (const workers of [0, 1]) {
    it(`a server refuses another node's or another cluster's directory (workers ${workers})`, async () => {
      const dir = tempDir();
      const [a] = await freePorts(1, workers);
      const extra = workers > 0 ? ['--workers', String(workers), '--groups', '2'] : [];
      await startAndStop({ dir, ...a!, extra: [...extra, '--cluster-id', 'alpha'] });
      expect(ownerOf(join(dir, 'group-0'))).toEqual({ nodeId: 'n0', clusterId: 'alpha', group: 0 });
      if (workers > 0) expect(ownerOf(join(dir, 'group-1'))).toEqual({ nodeId: 'n0', clusterId: 'alpha', group: 1 });
      const before = readFileSync(join(dir, 'group-0', 'raftledger.json'), 'utf8');

      const asN1 = await startServer({ id: 'n1', dir, ...a!, extra: [...extra, '--cluster-id', 'alpha'] });
      if (asN1.ready) running.push(asN1.server);
      expect(asN1.ready, 'a server with another --id must refuse the directory').toBe(false);
      if (asN1.ready) return;
      expect(asN1.code).toBe(2);
      const line = asN1.stderr.trim();
      expect(line.split('\n'), line).toHaveLength(1);
      expect(line).toContain('ERR_FOREIGN_DIR');
      expect(line).toContain(join(dir, 'group-0'));
      expect(line).toContain('belongs to node "n0" of cluster "alpha", group 0');
      expect(line).toContain('as node "n1" of cluster "alpha", group 0');

      const otherCluster = await startServer({ dir, ...a!, extra });
      if (otherCluster.ready) running.push(otherCluster.server);
      expect(otherCluster.ready, 'a server of another cluster must refuse the directory').toBe(false);
      if (otherCluster.ready) return;
      expect(otherCluster.code).toBe(2);
      expect(otherCluster.stderr).toContain('ERR_FOREIGN_DIR');
      expect(otherCluster.stderr).toContain('as node "n0" of cluster "raftledger"');
      expect(readFileSync(join(dir, 'group-0', 'raftledger.json'), 'utf8'), 'refused before it touched anything').toBe(before);

      // The right node still starts.
      await startAndStop({ dir, ...a!, extra: [...extra, '--cluster-id', 'alpha'] }, 0);
    });
  }

  it('a directory created before owners existed is adopted by the server that opens it', async () => {
    const dir = tempDir();
    const [a] = await freePorts(1);
    await startAndStop({ dir, ...a! }, 3);
    const path = join(dir, 'group-0', 'raftledger.json');
    const { owner, ...legacy } = JSON.parse(readFileSync(path, 'utf8')) as { owner?: unknown };
    expect(owner).toEqual({ nodeId: 'n0', clusterId: 'raftledger', group: 0 });
    writeFileSync(path, JSON.stringify(legacy, null, 2) + '\n');
    await startAndStop({ dir, ...a! }, 1);
    expect(ownerOf(join(dir, 'group-0'))).toEqual({ nodeId: 'n0', clusterId: 'raftledger', group: 0 });
  });
});
