/**
 * A config key that the rest of the config makes moot (memoryFlushIntervalMs with durability
 * 'fsync') starts the server anyway, with one `config-ignored` warning naming the key; the
 * same key in 'memory' mode, where it applies, draws no warning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig, ignoredConfigKeys } from '../../dist/server/config.js';
import { freePorts, startServer, type Started } from './server-process.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const base = { id: 'n0', dir: '/tmp/x', peers: 'n0=127.0.0.1:7001/7002' };

describe('config keys with no effect', () => {
  it('names memoryFlushIntervalMs only when durability is not memory', () => {
    expect(ignoredConfigKeys(validateConfig({ ...base, memoryFlushIntervalMs: 50 })).map((x) => x.key)).toEqual(['memoryFlushIntervalMs']);
    expect(ignoredConfigKeys(validateConfig({ ...base, durability: 'fsync', memoryFlushIntervalMs: 50 })).map((x) => x.key)).toEqual(['memoryFlushIntervalMs']);
    expect(ignoredConfigKeys(validateConfig({ ...base, durability: 'memory', memoryFlushIntervalMs: 50 }))).toEqual([]);
    expect(ignoredConfigKeys(validateConfig({ ...base }))).toEqual([]);
  });

  for (const durability of ['fsync', 'memory'] as const) {
    it(`server --durability ${durability} --memory-flush-ms 50 ${durability === 'fsync' ? 'warns once and serves' : 'serves without a warning'}`, async () => {
      const t = makeTempDir('raftledger-config-ignored-');
      cleanups.push(() => t.cleanup());
      const [ports] = await freePorts(1);
      const started = await startServer({ dir: t.dir, raftPort: ports!.raftPort, clientPort: ports!.clientPort, extra: ['--durability', durability, '--memory-flush-ms', '50'] });
      if (!started.ready) throw new Error(`server did not start: ${started.stderr}`);
      const server: Started = started.server;
      cleanups.push(async () => void (await server.stop('SIGTERM')));
      // The serving line, then any config-ignored warning, is written before the ready line.
      expect(server.stdout()).toContain('"event":"serving"');
      const warnings = server
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"event":"config-ignored"'));
      if (durability === 'fsync') {
        expect(warnings).toHaveLength(1);
        expect(JSON.parse(warnings[0]!)).toMatchObject({ key: 'memoryFlushIntervalMs', level: expect.anything() });
        expect(warnings[0]).toContain("durability is 'fsync'");
      } else {
        expect(warnings).toEqual([]);
      }
    });
  }
});
