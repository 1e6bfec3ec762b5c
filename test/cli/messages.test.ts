/**
 * Issue 11 item 9: the read-only tools pointed at a server's data directory name the
 * group directory to use; `simulate` has the same help and usage-error style as every
 * other command; a server's log lines carry one prefix each.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MAIN, runCli, waitGone } from './processes.js';
import { useTempDirs } from '../support/tmp.js';
import { reserveNodePorts } from '../../src/tools/cluster/ports.js';

const tempDir = useTempDirs('raftledger-messages-');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('messages (issue 11, item 9)', () => {
  it('inspect, verify and dump on a server directory point at DIR/group-0', () => {
    const dir = tempDir();
    for (const g of [0, 1]) expect(cli(['write', join(dir, `group-${g}`), '--count', '3', '--size', '16']).status).toBe(0);
    for (const command of ['inspect', 'verify', 'dump']) {
      const r = cli([command, dir]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim()).toBe(`raftledger ${command}: ${dir} is a server data directory (2 group log(s): group-0, group-1), not a log; point at one group: raftledger ${command} ${join(dir, 'group-0')}`);
      expect(cli([command, join(dir, 'group-0')]).status).toBe(0);
    }
    // A directory that is neither keeps the storage error.
    expect(cli(['inspect', tempDir()]).stderr).toMatch(/ERR_NOT_A_LOG/);
  });

  it('simulate uses the common help and usage-error style', () => {
    const help = cli(['simulate', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: raftledger simulate /);
    expect(help.stdout).toMatch(/\nOptions:\n/);
    expect(help.stdout).toContain('-h, --help     show this help');
    for (const bad of [['--nodes', '4'], ['--bogus'], ['--seeds']]) {
      const r = cli(['simulate', ...bad]);
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^raftledger simulate: .+\nRun 'raftledger simulate --help' for usage\.\n$/);
    }
    expect(cli(['simulate', '--seeds', '1', '--seeds', '2']).stderr).toContain('--seeds is given twice');
    const run = cli(['simulate', '--seeds', '2', '--from', '3', '--quiet']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^2\/2 seeds passed \(nodes=3, seeds 3\.\.4\)/);
  });

  it('server log lines carry one prefix each', async () => {
    const ports = await reserveNodePorts(['n0', 'n1']);
    const peers = `n0=127.0.0.1:${ports.n0!.raftPort}/${ports.n0!.clientPort},n1=127.0.0.1:${ports.n1!.raftPort}/${ports.n1!.clientPort}`;
    const server = runCli(['server', '--id', 'n0', '--peers', peers, '--dir', tempDir(), '--durability', 'memory', '--ready-line']);
    try {
      await server.waitFor(/"ready"/, 30_000);
      await server.waitFor(/cannot connect to n1/, 30_000); // a transport line about its peer
    } finally {
      process.kill(server.pid, 'SIGTERM');
      await server.exited(30_000);
      await waitGone([server.pid]);
    }
    const lines = server.stderr().split('\n').filter((l) => l.includes('transport'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatch(/^\S+Z \[n0\] (worker \d+ )?transport: /);
      expect(line).not.toMatch(/\[transport /);
    }
    expect(lines.some((l) => / transport: listening on 127\.0\.0\.1:\d+$/.test(l))).toBe(true);
  });
});
