/**
 * src/cli/parent-watch.ts: the servers of a local cluster exit when the cluster's parent
 * dies by SIGKILL, whenever it dies. Seen: two servers running for 45 min with ppid 1. The
 * parent had died while they were still starting (loading their modules): the IPC channel
 * closed before the watch was installed, and a server then looked like one started by
 * hand. The parent here is test/fixtures/cluster-parent.mjs (a LocalCluster).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/tmp.js';
import { commandLine, isAlive, killAll } from './processes.js';

const PARENT = fileURLToPath(new URL('../fixtures/cluster-parent.mjs', import.meta.url));
const POLL_MS = 100;
const POLLS = 600; // the servers' graceful stop is forced after 30 s (parent-watch.ts)

const tempDir = useTempDirs('raftledger-parentwatch-');
const leftovers: number[] = [];
afterEach(() => killAll(leftovers.splice(0)));

/** Runs the parent; resolves with its servers' pids (the JSON line it prints) and its exit. */
function runParent(dir: string, when: 'spawned' | 'ready'): { pids: Promise<number[]>; pid: number; exited: Promise<void> } {
  const child = spawn(process.execPath, [PARENT, dir, when], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pids = new Promise<number[]>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('['));
      if (line !== undefined) resolve(JSON.parse(line) as number[]);
    });
    void exited.then(() => setTimeout(() => reject(new Error(`the parent exited without printing its servers' pids: ${out} ${err}`)), 100));
  });
  return { pids, pid: child.pid!, exited };
}

/** Polls (POLLS times, POLL_MS apart) until none of `pids` is alive; the ones still alive. */
async function survivors(pids: number[], dir: string): Promise<number[]> {
  let alive = pids;
  for (let i = 0; i < POLLS && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    alive = alive.filter((pid) => isAlive(pid) && commandLine(pid).includes(dir));
  }
  return alive;
}

describe('servers exit when the parent of their local cluster is SIGKILLed', () => {
  it('while the servers are still starting (the parent dies right after spawning them)', async () => {
    const dir = tempDir();
    const parent = runParent(dir, 'spawned');
    const pids = await parent.pids;
    leftovers.push(...pids);
    expect(pids).toHaveLength(3);
    await parent.exited;
    expect(await survivors(pids, dir)).toEqual([]);
  }, 120_000);

  it('once the cluster is ready', async () => {
    const dir = tempDir();
    const parent = runParent(dir, 'ready');
    const pids = await parent.pids;
    leftovers.push(...pids);
    expect(pids).toHaveLength(3);
    process.kill(parent.pid, 'SIGKILL');
    await parent.exited;
    expect(await survivors(pids, dir)).toEqual([]);
  }, 120_000);
});
