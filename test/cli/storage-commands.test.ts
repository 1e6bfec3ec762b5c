import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openSync, readSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDirs } from '../support/tmp.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const tempDir = useTempDirs();
function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('raftledger storage commands', () => {
  it('every command has --help, and bad usage exits 2 with a hint', () => {
    for (const cmd of ['demo', 'server', 'cluster', 'status', 'bench', 'inspect', 'verify', 'dump', 'write', 'simulate']) {
      const r = run(cmd, '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.out.toLowerCase(), cmd).toContain('usage');
    }
    const top = run('--help');
    expect(top.code).toBe(0);
    expect(top.out).toContain('verify');
    expect(run('no-such-command').code).toBe(2);
    const bad = run('write', tempDir(), '--count', 'lots', '--size', '10');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--count');
    expect(run('inspect').code).toBe(2);
  });

  it('write, inspect, dump and verify a log; verify finds a flipped bit and exits 1', () => {
    const dir = tempDir();
    const w = run('write', dir, '--count', '1000', '--size', '100', '--flush-every', '2', '--segment-size', '64k', '--json');
    expect(w.code, w.err).toBe(0);
    expect(JSON.parse(w.out)).toMatchObject({ entries: 1000, lastIndex: 1000 });
    const i = run('inspect', dir, '--json');
    expect(i.code, i.err).toBe(0);
    const info = JSON.parse(i.out) as { firstIndex: number; lastIndex: number; segments: unknown[]; flushedIndex: number };
    expect(info).toMatchObject({ firstIndex: 1, lastIndex: 1000, flushedIndex: 1000 });
    expect(info.segments.length).toBeGreaterThan(1);
    const d = run('dump', dir, '--from', '10', '--limit', '3');
    expect(d.code, d.err).toBe(0);
    const lines = d.out.trim().split('\n').map((l) => JSON.parse(l) as { index: number; size: number; body: string });
    expect(lines.map((l) => l.index)).toEqual([10, 11, 12]);
    expect(Buffer.from(lines[0]!.body, 'base64').byteLength).toBe(100);
    const v = run('verify', dir);
    expect(v.code, v.out + v.err).toBe(0);
    expect(v.out).toMatch(/^clean: 1000 records/);
    // Flip one bit in the body of the record at offset 148 (index 2) of the first segment.
    const path = join(dir, 'log', '00000000000000000000');
    const fd = openSync(path, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 148 + 60);
    b[0]! ^= 0x20;
    writeSync(fd, b, 0, 1, 148 + 60);
    closeSync(fd);
    const bad = run('verify', dir, '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.out) as { clean: boolean; damage: Array<{ path: string; offset: number; reason: string }> };
    expect(report.clean).toBe(false);
    expect(report.damage).toEqual([expect.objectContaining({ path, offset: 148, reason: expect.stringContaining('crc') })]);
  });

  it('a missing or foreign directory is a clear error with exit code 2', () => {
    const missing = run('inspect', join(tempDir(), 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('ERR_NOT_A_LOG');
    const foreign = tempDir();
    writeFileSync(join(foreign, 'raftledger.json'), '{"format":"something-else"}');
    const f = run('verify', foreign);
    expect(f.code).toBe(2);
    expect(f.err).toContain('ERR_NOT_A_LOG');
    const notEmpty = tempDir();
    writeFileSync(join(notEmpty, 'data.txt'), 'hello');
    const w = run('write', notEmpty, '--count', '1', '--size', '1');
    expect(w.code).toBe(2);
    expect(w.err).toContain('ERR_FOREIGN_FILE');
  });
});
