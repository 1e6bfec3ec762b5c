import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SegmentedLog } from '../../src/index.js';
// The child process and this test share one payload generator (test/fixtures/payload.mjs).
import { payloadFor as payloadForTs, makeTempDir, prng, testSeed } from '../support/tmp.js';

const writer = fileURLToPath(new URL('../fixtures/crash-writer.mjs', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Run the writer until it has reported `minDurable` and `waitMs` passed, then SIGKILL it. */
function runAndKill(dir: string, salt: number, waitMs: number): Promise<{ maxDurable: number; opened: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, String(salt), String(64 * 1024)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let maxDurable = 0;
    let opened = -1;
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [word, value] = line.split(' ');
        if (word === 'durable') maxDurable = Math.max(maxDurable, Number(value));
        if (word === 'opened') {
          opened = Number(value);
          timer = setTimeout(() => child.kill('SIGKILL'), waitMs);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}/${signal}: ${stderr}`));
      else resolve({ maxDurable, opened });
    });
  });
}

describe('crash safety', () => {
  it('every entry reported durable survives kill -9 at random moments', async () => {
    const seed = testSeed('crash');
    const rand = prng(seed);
    const t = makeTempDir();
    cleanups.push(t.cleanup);
    const salt = seed % 1000;
    let durableSoFar = 0;
    for (let round = 0; round < 6; round++) {
      const { maxDurable, opened } = await runAndKill(t.dir, salt, 20 + Math.floor(rand() * 300));
      expect(opened, `seed ${seed} round ${round}`).toBeGreaterThanOrEqual(durableSoFar);
      durableSoFar = Math.max(durableSoFar, maxDurable);
      const log = await SegmentedLog.open({ dir: t.dir });
      try {
        expect(log.lastIndex, `seed ${seed} round ${round}`).toBeGreaterThanOrEqual(durableSoFar);
        for (const entry of log.entries(1)) {
          expect(entry.data.equals(payloadForTs(entry.index, salt)), `seed ${seed} index ${entry.index}`).toBe(true);
        }
      } finally {
        await log.close();
      }
    }
    expect(durableSoFar).toBeGreaterThan(0);
  });
});
