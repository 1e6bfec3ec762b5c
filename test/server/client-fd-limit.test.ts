/**
 * The EMFILE report of issue 11 item 5, as processes: a listener in a process with a low
 * open-file limit, flooded with idle connections from this process. With the default
 * maxConnections (a quarter of that limit) the flood is refused at the cap, so the process
 * keeps descriptors for its files and new clients are still served.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

import { connect } from '../../src/client/index.js';
import { RawClient, waitFor } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/fd-limited-listener.mjs', import.meta.url));
const FD_LIMIT = 256;
const FLOOD = 600;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startChild(): { child: ChildProcessWithoutNullStreams; lines: string[]; ask: (q: string) => Promise<Record<string, unknown>> } {
  const child = spawn('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "${process.execPath}" "${CHILD}"`], { stdio: 'pipe' });
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (w !== undefined) w(line);
    else lines.push(line);
  });
  child.stderr.on('data', () => {});
  const ask = (q: string): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      waiting.push((line) => resolve(JSON.parse(line) as Record<string, unknown>));
      child.stdin.write(`${q}\n`);
    });
  return { child, lines, ask };
}

describe('client port under a low open-file limit', () => {
  it(`${FLOOD} idle connections against ulimit -n ${FD_LIMIT}: refused at the cap, the process keeps serving`, async () => {
    const { child, lines, ask } = startChild();
    await waitFor(() => lines.length > 0, 'the child listens');
    const { port, limits } = JSON.parse(lines[0]!) as { port: number; limits: { maxConnections: number } };
    expect(limits.maxConnections).toBe(64); // a quarter of 256

    const flood: RawClient[] = [];
    cleanups.push(() => flood.forEach((r) => r.destroy()));
    for (let i = 0; i < FLOOD; i++) {
      const r = new RawClient(port);
      r.connected.catch(() => {});
      flood.push(r);
      if (i % 50 === 49) await Promise.allSettled(flood.slice(-50).map((c) => c.connected));
    }
    await Promise.allSettled(flood.map((r) => r.connected));
    await waitFor(() => flood.filter((r) => r.isClosed).length >= FLOOD - limits.maxConnections, 'connections past the cap are closed');
    const stats = await ask('stats');
    expect(stats).toMatchObject({ connections: limits.maxConnections, acceptErrors: 0, accepting: true });
    expect(await ask('open-file')).toEqual({ openFile: 'ok' });

    // A freed slot serves a new client.
    for (const r of flood.filter((c) => !c.isClosed).slice(0, 4)) r.destroy();
    await waitFor(() => true, 'noop');
    const client = await connect({ servers: [`127.0.0.1:${port}`], deadlineMs: 10_000 });
    cleanups.push(() => client.close());
    await client.append(Buffer.from('served'));
    expect(child.exitCode).toBeNull();
  });
});
