/**
 * The server's client-port limits come from its config (`--client-*` flags / `client*` keys):
 * the flag reaches the listener of a workers-0 server and every worker port of a workers-N one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../server/helpers.js';
import { freePorts, startServer, type Started } from './server-process.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function refusedAtCap(clientPort: number, cap: number): Promise<string | undefined> {
  const held: RawClient[] = [];
  cleanups.push(() => held.forEach((c) => c.destroy()));
  for (let i = 0; i < cap; i++) held.push(await RawClient.open(clientPort));
  const extra = await RawClient.open(clientPort);
  held.push(extra);
  await extra.waitClosed('the connection past --client-max-connections to be closed');
  return extra.notice()?.code;
}

describe('server --client-* flags', () => {
  for (const workers of [0, 1]) {
    it(`--client-max-connections 2 refuses the third connection (workers ${workers})`, async () => {
      const t = makeTempDir('raftledger-climits-');
      cleanups.push(() => t.cleanup());
      const [ports] = await freePorts(1, workers);
      const started = await startServer({
        dir: t.dir,
        raftPort: ports!.raftPort,
        clientPort: ports!.clientPort,
        extra: ['--workers', String(workers), '--client-max-connections', '2'],
      });
      if (!started.ready) throw new Error(`server did not start: ${started.stderr}`);
      const server: Started = started.server;
      cleanups.push(async () => void (await server.stop('SIGTERM')));
      expect(await refusedAtCap(ports!.clientPort, 2)).toBe('ERR_OVERLOADED');
      // With workers the worker's own client port (client port + 1 + w) has the same cap.
      if (workers > 0) expect(await refusedAtCap(ports!.clientPort + 1, 2)).toBe('ERR_OVERLOADED');
    });
  }

  it('refuses a value out of range with a one-line error', async () => {
    const t = makeTempDir('raftledger-climits-');
    cleanups.push(() => t.cleanup());
    const [ports] = await freePorts(1);
    const started = await startServer({ dir: t.dir, raftPort: ports!.raftPort, clientPort: ports!.clientPort, extra: ['--client-idle-timeout-ms', '5'] });
    expect(started.ready).toBe(false);
    if (!started.ready) {
      expect(started.code).toBe(2);
      expect(started.stderr).toMatch(/clientIdleTimeoutMs|client-idle-timeout-ms/);
    }
  });
});
