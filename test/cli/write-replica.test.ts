/**
 * Issue 11 item 4: `raftledger write` appended synthetic entries into a replica's Raft log
 * (and they were committed cluster-wide after a restart). It must refuse a replica's log
 * unless forced with --force-into-replica, whose help says what that does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../dist/client/index.js';
import { useTempDirs } from '../support/tmp.js';
import { freePorts, run, startServer, type Started } from './server-process.js';

const tempDir = useTempDirs('raftledger-write-');
const running: Started[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop('SIGKILL');
});

function lastIndexOf(dir: string): number {
  const r = run('inspect', dir, '--json');
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { lastIndex: number }).lastIndex;
}

describe('raftledger write into a replica', () => {
  it('--help names --force-into-replica and says that it corrupts the replica', () => {
    const help = run('write', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('--force-into-replica');
    expect(help.out).toContain('CORRUPTS');
    expect(help.out).toContain('committed');
  });

  it("refuses a stopped replica's log (with or without an owner field) and leaves it untouched; --force-into-replica writes", async () => {
    const dir = tempDir();
    const [a] = await freePorts(1);
    const s = await startServer({ dir, ...a! });
    if (!s.ready) throw new Error(`server did not start: ${s.stderr}`);
    running.push(s.server);
    const client = await connect({ servers: [s.server.client], deadlineMs: 20_000 });
    for (let i = 0; i < 3; i++) await client.append(Buffer.from(`entry ${i}`));
    await client.close();
    expect(await s.server.stop('SIGTERM')).toBe(0);

    const group = join(dir, 'group-0');
    const last = lastIndexOf(group);
    const refused = run('write', group, '--count', '5', '--size', '10');
    expect(refused.code).toBe(2);
    const line = refused.err.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('ERR_FOREIGN_DIR');
    expect(line).toContain(group);
    expect(line).toContain('node "n0" of cluster "raftledger", group 0');
    expect(line).toContain('--force-into-replica');
    expect(lastIndexOf(group)).toBe(last);

    // A replica's log from before owners existed: recognised by its Raft hard state.
    const path = join(group, 'raftledger.json');
    const { owner, ...legacy } = JSON.parse(readFileSync(path, 'utf8')) as { owner?: unknown };
    expect(owner).toBeDefined();
    writeFileSync(path, JSON.stringify(legacy, null, 2) + '\n');
    const legacyRefused = run('write', group, '--count', '5', '--size', '10');
    expect(legacyRefused.code).toBe(2);
    expect(legacyRefused.err).toContain('ERR_FOREIGN_DIR');
    expect(legacyRefused.err).toContain('Raft term');
    expect(lastIndexOf(group)).toBe(last);

    const forced = run('write', group, '--count', '5', '--size', '10', '--force-into-replica', '--json');
    expect(forced.code, forced.err).toBe(0);
    expect(lastIndexOf(group)).toBe(last + 5);
  });

  it('a standalone log stays writable, again and again', () => {
    const dir = tempDir();
    expect(run('write', dir, '--count', '3', '--size', '10').code).toBe(0);
    const again = run('write', dir, '--count', '3', '--size', '10', '--json');
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ lastIndex: 6 });
  });
});
