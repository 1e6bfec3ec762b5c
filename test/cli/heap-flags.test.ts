import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCluster } from '../../dist/tools/cluster/local-cluster.js';
import { HEAP_NODE_FLAGS, missingHeapFlags } from '../../dist/tools/node-flags.js';
import { makeTempDir } from '../support/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');

describe('servers run with the heap flags', () => {
  it('names the heap flags a process lacks (the server warns with them), by flag name whatever the value', () => {
    expect(missingHeapFlags([])).toEqual([...HEAP_NODE_FLAGS]);
    expect(missingHeapFlags([...HEAP_NODE_FLAGS])).toEqual([]);
    expect(missingHeapFlags(['--initial_old_space_size=512', '--inspect'])).toEqual(['--max-semi-space-size=8']);
    expect(missingHeapFlags(['--max-semi-space-size=16'])).toEqual(['--initial-old-space-size=128']);
  });

  it('the raftledger command\'s shebang carries them and runs as the kernel would run it', () => {
    const first = readFileSync(MAIN, 'utf8').split('\n', 1)[0]!;
    expect(first.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    const words = first.slice('#!'.length).split(' ');
    expect(words.slice(3)).toEqual([...HEAP_NODE_FLAGS]);
    // The kernel passes everything after the interpreter as one argument, then the script.
    const interpreter = words[0]!;
    const rest = first.slice('#!'.length + interpreter.length + 1);
    const r = spawnSync(interpreter, [rest, MAIN, '--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^raftledger /);
  });

  it('a server that LocalCluster starts has them on its command line', async () => {
    const t = makeTempDir('raftledger-heap-flags-');
    const cluster = new LocalCluster({ replicas: 1, dir: t.dir, durability: 'memory' });
    try {
      await cluster.start();
      const server = [...cluster.servers.values()][0]!;
      expect(server.pid).toBeTypeOf('number');
      const argv = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of HEAP_NODE_FLAGS) expect(argv).toContain(flag);
      expect(argv.indexOf(HEAP_NODE_FLAGS[1]!)).toBeLessThan(argv.indexOf(MAIN));
    } finally {
      await cluster.stop();
      t.cleanup();
    }
  });
});
