/**
 * Issue 11 item 6: every command that starts servers stops them on SIGINT/SIGTERM and
 * removes what it created; servers started by a parent exit when the parent dies (even by
 * SIGKILL); `cluster` reports a server that exits; a server started by hand is not tied to
 * its parent. Each case runs the real CLI as a separate process on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { childPids, commandLine, exists, isAlive, killAll, MAIN, runCli, waitForServers, waitGone, type CliProcess } from './processes.js';
import { useTempDirs } from '../support/tmp.js';
import { reserveNodePorts } from '../../src/tools/cluster/ports.js';
import { connect } from '../../src/client/index.js';
import { waitForLeader } from '../../src/tools/cluster/cluster-status.js';

const tempDir = useTempDirs('raftledger-cleanup-');
const leftovers: number[] = [];
const running: CliProcess[] = [];

afterEach(() => {
  for (const p of running.splice(0)) killAll([p.pid, ...childPids(p.pid)]);
  killAll(leftovers.splice(0));
});

function start(args: string[]): CliProcess {
  const p = runCli(args);
  running.push(p);
  return p;
}

describe('process cleanup (issue 11, item 6)', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`bench stopped by ${signal} stops its 3 servers and removes its temporary directory`, async () => {
      const bench = start(['bench', '--duration', '120', '--warmup', '0', '--durability', 'memory', '--concurrency', '4', '--size', '64']);
      const dir = (await bench.waitFor(/starting 3 replicas .* in (\S+)/))[1]!;
      await bench.waitFor(/measuring/);
      const pids = await waitForServers(bench.pid, 3);
      leftovers.push(...pids);
      expect(pids).toHaveLength(3);
      expect(exists(dir)).toBe(true);
      process.kill(bench.pid, signal);
      const { code } = await bench.exited(60_000);
      expect(code, bench.stderr()).toBe(signal === 'SIGTERM' ? 143 : 130);
      await waitGone(pids, 30_000);
      expect(exists(dir)).toBe(false);
    });
  }

  it('demo stopped by SIGTERM stops its servers and removes its directory', async () => {
    const demo = start(['demo', '--seconds', '120']);
    const dir = (await demo.waitFor(/data in (\S+)/))[1]!;
    await demo.waitFor(/phase 1/);
    const pids = [...demo.stdout().matchAll(/n\d: pid (\d+)/g)].map((m) => Number(m[1]));
    leftovers.push(...pids);
    expect(pids).toHaveLength(3);
    process.kill(demo.pid, 'SIGTERM');
    expect((await demo.exited(60_000)).code, demo.stderr()).toBe(143);
    await waitGone(pids, 30_000);
    expect(exists(dir)).toBe(false);
  });

  it('torture stopped by SIGTERM stops its servers and removes its directory', async () => {
    const torture = start(['torture', '--duration', '120', '--faults', 'kill', '--seed', '7', '--durability', 'memory']);
    const dir = (await torture.waitFor(/data in (\S+)/))[1]!;
    const pids = await waitForServers(torture.pid, 3);
    leftovers.push(...pids);
    await torture.waitFor(/\[t=[\d.]+s\] kill -9/, 90_000); // the nemesis is at work
    const now = childPids(torture.pid).filter((p) => / server /.test(commandLine(p)));
    leftovers.push(...now);
    process.kill(torture.pid, 'SIGTERM');
    expect((await torture.exited(60_000)).code, torture.stdout() + torture.stderr()).toBe(143);
    await waitGone([...pids, ...now], 30_000);
    expect(exists(dir)).toBe(false);
    expect(exists(dirname(dir))).toBe(false);
  });

  async function startCluster(): Promise<{ cluster: CliProcess; servers: Array<{ id: string; pid: number }> }> {
    const cluster = start(['cluster', '--dir', tempDir(), '--quiet', '--durability', 'memory']);
    await cluster.waitFor(/Press Ctrl-C/);
    const servers = [...cluster.stdout().matchAll(/(n\d)\s+raft \S+\s+client \S+\s+pid (\d+)/g)].map((m) => ({ id: m[1]!, pid: Number(m[2]) }));
    leftovers.push(...servers.map((s) => s.pid));
    expect(servers).toHaveLength(3);
    return { cluster, servers };
  }

  it('cluster reports a server that exits', async () => {
    const { cluster, servers } = await startCluster();
    process.kill(servers[1]!.pid, 'SIGKILL');
    await cluster.waitFor(new RegExp(`server ${servers[1]!.id} exited \\(killed by SIGKILL\\); 2 of 3 still running`), 30_000);
    expect(cluster.child.exitCode).toBe(null);
  });

  it('the servers of a SIGKILLed cluster exit', async () => {
    const { cluster, servers } = await startCluster();
    // Once a leader is elected the servers log nothing more, so none can die by chance on a
    // write to the dead parent's pipe: only watching the parent makes them exit.
    const client = await connect({ servers: cluster.stdout().match(/--servers (\S+)/)![1]!.split(','), deadlineMs: 20_000 });
    try {
      await waitForLeader(client, 30_000);
    } finally {
      await client.close();
    }
    process.kill(cluster.pid, 'SIGKILL');
    await cluster.exited(30_000);
    await waitGone(servers.map((s) => s.pid), 30_000);
  });

  it('cluster stopped by SIGTERM stops its servers and keeps its --dir', async () => {
    const dir = tempDir();
    const cluster = start(['cluster', '--dir', dir, '--quiet', '--durability', 'memory']);
    await cluster.waitFor(/Press Ctrl-C/);
    const pids = [...cluster.stdout().matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    leftovers.push(...pids);
    process.kill(cluster.pid, 'SIGTERM');
    expect((await cluster.exited(60_000)).code, cluster.stderr()).toBe(0);
    await waitGone(pids, 30_000);
    expect(exists(join(dir, 'n0', 'group-0'))).toBe(true);
  });

  it('a server started by hand keeps running when the process that started it exits', async () => {
    const dir = tempDir();
    const ports = (await reserveNodePorts(['n0']))['n0']!;
    const out = join(dir, 'server.out');
    // sh starts the server in the background and exits at once: the server's parent is gone.
    const sh = spawn(
      '/bin/sh',
      ['-c', `"${process.execPath}" "${MAIN}" server --id n0 --peers n0=127.0.0.1:${ports.raftPort}/${ports.clientPort} --dir "${join(dir, 'data')}" --durability memory --ready-line > "${out}" 2>&1 & echo $!`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let printed = '';
    sh.stdout!.on('data', (c: Buffer) => (printed += c.toString()));
    await new Promise<void>((resolve) => sh.once('exit', () => resolve()));
    const pid = Number(printed.trim());
    leftovers.push(pid);
    const deadline = Date.now() + 30_000;
    while (!(exists(out) && readFileSync(out, 'utf8').includes('"ready"'))) {
      if (Date.now() > deadline || !isAlive(pid)) throw new Error(`server did not become ready: ${exists(out) ? readFileSync(out, 'utf8') : ''}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // Its parent exited before it was ready; it serves.
    const client = await connect({ servers: [`127.0.0.1:${ports.clientPort}`], deadlineMs: 10_000 });
    try {
      const status = await client.status();
      expect(status.id ?? status.leader).toBe('n0');
    } finally {
      await client.close();
    }
    expect(isAlive(pid)).toBe(true);
    process.kill(pid, 'SIGTERM');
    await waitGone([pid], 30_000);
  });
});
