/**
 * Issue 11 item 1: one data directory, one server. A second `raftledger server` on the same
 * --dir must exit 2 with a one-line ERR_DIR_LOCKED naming the directory and the holder's pid,
 * while the first keeps serving; read-only tools work beside it; a SIGKILLed holder's lock
 * is released by the kernel.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connect, type Client } from '../../dist/client/index.js';
import { useTempDirs } from '../support/tmp.js';
import { freePorts, run, startServer, type Started } from './server-process.js';

const tempDir = useTempDirs('raftledger-lock-');
const running: Started[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of running.splice(0)) await s.stop('SIGKILL');
});

async function client(address: string): Promise<Client> {
  const c = await connect({ servers: [address], deadlineMs: 20_000 });
  clients.push(c);
  return c;
}

/** The server that takes the directory, and a client of it. */
async function startFirst(dir: string, ports: { raftPort: number; clientPort: number }): Promise<{ first: Started; c1: Client }> {
  const started = await startServer({ dir, ...ports });
  if (!started.ready) throw new Error(`first server did not start: ${started.stderr}`);
  running.push(started.server);
  return { first: started.server, c1: await client(started.server.client) };
}

describe('data directory lock (multi-process)', () => {
  it('a second server on the same --dir exits 2 naming the directory and the holder; the first keeps serving', async () => {
    const dir = tempDir();
    const [a, b] = await freePorts(2);
    const { first, c1 } = await startFirst(dir, a!);
    const one = (await c1.append(Buffer.from('one'))).index;

    const second = await startServer({ dir, ...b! });
    if (second.ready) running.push(second.server);
    expect(second.ready, 'the second server must refuse the directory').toBe(false);
    if (second.ready) return;
    expect(second.code).toBe(2);
    const lines = second.stderr.trim().split('\n');
    expect(lines, second.stderr).toHaveLength(1);
    expect(lines[0]).toContain('ERR_DIR_LOCKED');
    expect(lines[0]).toContain(dir);
    expect(lines[0]).toContain(`pid ${first.pid}`);

    // Nor may a repairing server touch it.
    const repair = await startServer({ dir, ...b!, extra: ['--repair'] });
    if (repair.ready) running.push(repair.server);
    expect(repair.ready, 'server --repair must refuse the directory too').toBe(false);
    if (repair.ready) return;
    expect(repair.code).toBe(2);
    expect(repair.stderr).toContain('ERR_DIR_LOCKED');

    // The first server is untouched.
    const two = (await c1.append(Buffer.from('two'))).index;
    expect(two).toBe(one + 1);
    expect((await c1.read(one))?.payload.toString()).toBe('one');

    // Read-only tools work beside the running server.
    const group = join(dir, 'group-0');
    const inspect = run('inspect', group, '--json');
    expect(inspect.code, inspect.err).toBe(0);
    expect(JSON.parse(inspect.out)).toMatchObject({ firstIndex: 1 });
    const verify = run('verify', group);
    expect(verify.code, verify.out + verify.err).toBe(0);
    const dump = run('dump', group, '--from', '1', '--limit', '1');
    expect(dump.code, dump.err).toBe(0);
    // A writing tool is refused while the server runs, whatever it is forced to do.
    const write = run('write', group, '--count', '1', '--size', '10', '--force-into-replica');
    expect(write.code).toBe(2);
    expect(write.err).toContain('ERR_DIR_LOCKED');
    expect((await c1.append(Buffer.from('three'))).index).toBe(two + 1);
  });

  it('the lock of a SIGKILLed server is released: a new server starts on its directory and has its entries', async () => {
    const dir = tempDir();
    const [a, b] = await freePorts(2);
    const { first, c1 } = await startFirst(dir, a!);
    let last = 0;
    for (let i = 1; i <= 5; i++) last = (await c1.append(Buffer.from(`e${i}`))).index;
    await first.stop('SIGKILL');
    // The directory's lock file still names the dead pid; the kernel released the lock itself.
    const next = await startServer({ dir, ...b! });
    if (!next.ready) throw new Error(`server after SIGKILL did not start: ${next.stderr}`);
    running.push(next.server);
    const c2 = await client(next.server.client);
    // Appending first: the restarted leader learns what is committed once its own term commits.
    expect((await c2.append(Buffer.from('after'))).index).toBeGreaterThan(last);
    expect((await c2.read(last))?.payload.toString()).toBe('e5');
  });

  it('a server with workers (LedgerHost) holds the lock too', async () => {
    const dir = tempDir();
    const [a, b] = await freePorts(2, 1);
    const first = await startServer({ dir, ...a!, extra: ['--workers', '1', '--groups', '2'] });
    if (!first.ready) throw new Error(`first server did not start: ${first.stderr}`);
    running.push(first.server);
    const second = await startServer({ dir, ...b!, extra: ['--workers', '1', '--groups', '2'] });
    if (second.ready) running.push(second.server);
    expect(second.ready).toBe(false);
    if (second.ready) return;
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('ERR_DIR_LOCKED');
    expect(second.stderr).toContain(`pid ${first.server.pid}`);
  });
});
