/**
 * Issue 11 item 7: a port in use or a directory that cannot be used is a one-line error
 * naming the port or path, exit code 2 — not an internal error with a stack (exit 70).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { MAIN } from './processes.js';
import { useTempDirs } from '../support/tmp.js';
import { freeConsecutivePorts, reserveNodePorts } from '../../src/tools/cluster/ports.js';

const tempDir = useTempDirs('raftledger-errors-');
const held: Server[] = [];

afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function hold(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      held.push(server);
      resolve();
    });
  });
}

/** The CLI as another user when this runs as root (root may write anywhere). */
const AS_UNPRIVILEGED: SpawnSyncOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** A directory this test's CLI process cannot write into. */
function unwritableDir(): string {
  const dir = join(tempDir(), 'readonly');
  mkdirSync(dir);
  chmodSync(dir, 0o555);
  chmodSync(join(dir, '..'), 0o755); // the unprivileged user must reach it
  return dir;
}

function cli(args: string[], options: SpawnSyncOptions = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Exit 2 and exactly one error line from the command, no stack, that matches `pattern`. */
function expectOneLineError(r: { status: number | null; stderr: string }, command: string, pattern: RegExp): void {
  expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith(`raftledger ${command}:`));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(r.status, r.stderr).toBe(2);
}

describe('one-line errors for ports and directories (issue 11, item 7)', () => {
  it('server: a client port already in use', async () => {
    const ports = (await reserveNodePorts(['n0']))['n0']!;
    await hold(ports.clientPort);
    const r = cli(['server', '--id', 'n0', '--peers', `n0=127.0.0.1:${ports.raftPort}/${ports.clientPort}`, '--dir', tempDir(), '--durability', 'memory']);
    expectOneLineError(r, 'server', new RegExp(`EADDRINUSE: listen on 127\\.0\\.0\\.1:${ports.clientPort}: address already in use`));
  });

  it("server --workers 1: a worker's client port already in use (the error crossed a worker thread)", async () => {
    const ports = (await reserveNodePorts(['n0'], 1))['n0']!;
    await hold(ports.clientPort + 1);
    const r = cli(['server', '--id', 'n0', '--peers', `n0=127.0.0.1:${ports.raftPort}/${ports.clientPort}`, '--dir', tempDir(), '--durability', 'memory', '--workers', '1']);
    expectOneLineError(r, 'server', new RegExp(`EADDRINUSE: listen on 127\\.0\\.0\\.1:${ports.clientPort + 1}: address already in use`));
  });

  it('server: a Raft port already in use (already clean before: stays so)', async () => {
    const ports = (await reserveNodePorts(['n0']))['n0']!;
    await hold(ports.raftPort);
    const r = cli(['server', '--id', 'n0', '--peers', `n0=127.0.0.1:${ports.raftPort}/${ports.clientPort}`, '--dir', tempDir(), '--durability', 'memory']);
    expectOneLineError(r, 'server', new RegExp(`ERR_IO: .*127\\.0\\.0\\.1:${ports.raftPort}`));
  });

  it('cluster --dir on a file', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    expectOneLineError(cli(['cluster', '--dir', file]), 'cluster', new RegExp(`--dir ${file} is not a directory`));
    expectOneLineError(cli(['cluster', '--dir', join(file, 'sub')]), 'cluster', new RegExp(`--dir ${file}/sub cannot be created: .*ENOTDIR`));
  });

  it('cluster --dir on a directory it cannot write', () => {
    const dir = unwritableDir();
    expectOneLineError(cli(['cluster', '--dir', dir], AS_UNPRIVILEGED), 'cluster', new RegExp(`--dir ${dir} is not writable: .*(EACCES|EPERM|EROFS)`));
  });

  it('cluster --base-port with a port in use', async () => {
    const base = await freeConsecutivePorts(3);
    await hold(base + 1);
    const r = cli(['cluster', '--dir', tempDir(), '--base-port', String(base), '--durability', 'memory']);
    expectOneLineError(r, 'cluster', new RegExp(`n1's raft port 127\\.0\\.0\\.1:${base + 1} is already in use`));
  });

  it('bench --dir that cannot be written or created', () => {
    const dir = unwritableDir();
    expectOneLineError(cli(['bench', '--dir', dir, '--duration', '1'], AS_UNPRIVILEGED), 'bench', new RegExp(`--dir ${dir} is not writable`));
    expectOneLineError(cli(['bench', '--dir', join(dir, 'new'), '--duration', '1'], AS_UNPRIVILEGED), 'bench', new RegExp(`--dir ${dir}/new cannot be created`));
  });
});
