/**
 * Missing files on a stopped replica of a 3-process cluster (issue 11, item 3). Before the
 * fix, a follower whose last, first, middle or every segment was deleted (or whose last
 * segment was cut to 0 bytes) started with fewer entries than its hard state's commit
 * index and `raftledger verify` exited 0; with its meta file deleted it started with its
 * vote forgotten. Now it refuses to start naming what is missing, verify exits 1, and the
 * remedy its advice names (--repair, or moving the directory aside for a lost hard state)
 * brings it back: it catches up and every replica holds the same bytes, nothing lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, replicaDir, readRecords, waitForLeader, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { committedEverywhere } from '../support/cluster-load.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

const acked = new Map<number, string>();

async function appendMany(count: number, tag: string): Promise<number> {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const text = `${tag}-${i}-${'x'.repeat(1000)}`;
      const ack = await tc!.client.append(Buffer.from(text));
      acked.set(ack.index, text);
    }),
  );
  return Math.max(...acked.keys());
}

const allCommitted = (index: number): Promise<boolean> => committedEverywhere(tc!, index);

function verifyExit(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [MAIN, 'verify', dir, '--quiet'], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function segments(dir: string): string[] {
  return readdirSync(join(dir, 'log')).sort();
}

/** The last segment that holds records (a preallocated spare after it holds none, and losing it loses nothing). */
function lastWithData(dir: string): string {
  const withData = segments(dir).filter((n) => {
    const fd = openSync(join(dir, 'log', n), 'r');
    try {
      const b = Buffer.alloc(4);
      return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) !== 0;
    } finally {
      closeSync(fd);
    }
  });
  return withData.at(-1)!;
}

/** Stop `id`, damage its group directory, and expect the restart to be refused with `refusal`. */
async function damageAndExpectRefusal(id: string, damage: (dir: string) => void, refusal: RegExp): Promise<void> {
  await tc!.cluster.kill(id, 'SIGTERM');
  const dir = replicaDir(tc!, id);
  damage(dir);
  await expect(tc!.cluster.startServer(id)).rejects.toThrow(refusal);
  const v = verifyExit(dir);
  expect(v.status, v.out).toBe(1);
}

/** Everything acknowledged is on every replica, at its index, in identical bytes. */
async function expectNothingLost(): Promise<void> {
  const last = Math.max(...acked.keys());
  await waitUntil(() => allCommitted(last), 'every replica to commit', 60_000);
  await tc!.cluster.stop();
  const logs = await Promise.all(tc!.cluster.ids.map((id) => readRecords(replicaDir(tc!, id), last)));
  for (const log of logs) {
    expect(log.length).toBe(last);
    expect(log).toEqual(logs[0]);
  }
  for (const [index, text] of acked) expect(Buffer.from(logs[0]![index - 1]!.record, 'base64').subarray(48).toString()).toBe(text);
  for (const id of tc!.cluster.ids) expect(verifyExit(replicaDir(tc!, id)).status).toBe(0);
}

async function follower(): Promise<string> {
  const leader = await waitForLeader(tc!.client, 20_000);
  return tc!.cluster.ids.find((id) => id !== leader.id)!;
}

describe('a replica with files missing', () => {
  it('refuses the last segment deleted, cut to 0 bytes, a middle one and the first one deleted; --repair brings it back each time', async () => {
    acked.clear();
    tc = await startCluster({ segmentSizeBytes: 64 * 1024 });
    const id = await follower();
    let last = await appendMany(475, 'a');
    await waitUntil(() => allCommitted(last), 'commit');
    const cases: Array<[string, (dir: string) => void]> = [
      ['last segment deleted', (dir) => rmSync(join(dir, 'log', lastWithData(dir)))],
      [
        'last segment cut to 0 bytes',
        (dir) => {
          const fd = openSync(join(dir, 'log', lastWithData(dir)), 'r+');
          ftruncateSync(fd, 0);
          closeSync(fd);
        },
      ],
      ['middle segment deleted', (dir) => rmSync(join(dir, 'log', segments(dir)[2]!))],
      ['first segment deleted', (dir) => rmSync(join(dir, 'log', segments(dir)[0]!))],
      ['every segment deleted', (dir) => segments(dir).forEach((n) => rmSync(join(dir, 'log', n)))],
    ];
    for (const [what, damage] of cases) {
      await damageAndExpectRefusal(id, damage, /ERR_LOG_CORRUPT.*missing.*--repair/s);
      await tc.cluster.startServer(id, ['--repair']);
      last = await appendMany(20, what);
      await waitUntil(() => allCommitted(last), `${id} to catch up after: ${what}`, 60_000);
    }
    await expectNothingLost();
  }, 240_000);

  it('refuses a deleted meta file (also with --repair); moving the directory aside brings it back', async () => {
    acked.clear();
    tc = await startCluster({ segmentSizeBytes: 64 * 1024 });
    const id = await follower();
    const last = await appendMany(475, 'b');
    await waitUntil(() => allCommitted(last), 'commit');
    await damageAndExpectRefusal(id, (dir) => rmSync(join(dir, 'meta')), /ERR_HARD_STATE_LOST.*meta is missing.*vote twice/s);
    await expect(tc.cluster.startServer(id, ['--repair'])).rejects.toThrow(/ERR_HARD_STATE_LOST/);
    // The advice: move the replica's directory aside and restart; it rejoins empty.
    const dir = replicaDir(tc, id);
    renameSync(dir, `${dir}.lost-meta`);
    await tc.cluster.startServer(id);
    await appendMany(20, 'after');
    await expectNothingLost();
  }, 180_000);
});
