/**
 * `raftledger server --ready-line` installs its SIGTERM handler before it prints the ready
 * line: a SIGTERM sent the moment the line is read gets the clean shutdown (exit code 0),
 * never the default action (killed by the signal, the log not flushed). Before the fix the
 * line came first, and on this machine about every second such SIGTERM killed the process;
 * 10 rounds make a regression all but certain to show.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { reserveNodePorts } from '../../dist/tools/cluster/ports.js';
import { useTempDirs } from '../support/tmp.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const tempDir = useTempDirs('raftledger-sigterm-');

function startThenTerm(dir: string, raftPort: number, clientPort: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const args = [MAIN, 'server', '--id', 'n0', '--peers', `n0=127.0.0.1:${raftPort}/${clientPort}`, '--dir', dir, '--ready-line', '--tick-ms', '5', '--election-ticks', '10', '--heartbeat-ticks', '2'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the server did not print its ready line in time'));
    }, 30_000);
    let out = '';
    let sent = false;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (!sent && out.split('\n').some((line) => line.startsWith('{"ready":true'))) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

describe('server shutdown', () => {
  it('a SIGTERM sent as soon as the ready line is read shuts down cleanly (10 rounds)', async () => {
    const outcomes: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];
    for (let round = 0; round < 10; round++) {
      const { s0 } = await reserveNodePorts(['s0']);
      outcomes.push(await startThenTerm(tempDir(), s0!.raftPort, s0!.clientPort));
    }
    expect(outcomes).toEqual(Array.from({ length: 10 }, () => ({ code: 0, signal: null })));
  });
});
