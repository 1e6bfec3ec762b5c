import { mkdtempSync, rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import { payloadFor as childPayloadFor } from '../fixtures/payload.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../src/raft/prng.js';

/** A fresh temporary directory; removed by the returned cleanup. */
export function makeTempDir(prefix = 'raftledger-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A tempDir() for a test file: every directory it makes is removed after each test. */
export function useTempDirs(prefix?: string): () => string {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  return () => {
    const t = makeTempDir(prefix);
    cleanups.push(t.cleanup);
    return t.dir;
  };
}

/** Deterministic PRNG for seeded tests: the Raft core's mulberry32. */
export const prng: (seed: number) => () => number = mulberry32;

/** Seed from RAFTLEDGER_SEED or a random one; print it so a failure can be replayed. */
export function testSeed(name: string): number {
  const fromEnv = process.env.RAFTLEDGER_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`[${name}] seed ${seed} (replay with RAFTLEDGER_SEED=${seed})\n`);
  return seed;
}

/** The payload of entry `index` in a test log: its size and bytes follow from index and salt (shared with child processes). */
export function payloadFor(index: number, salt = 0, maxSize = 300): Buffer {
  return childPayloadFor(index, salt, maxSize);
}
