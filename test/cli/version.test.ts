import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VERSION } from '../../src/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };

describe('the version comes from package.json', () => {
  it('raftledger --version prints package.json\'s version', () => {
    for (const flag of ['--version', '-v']) {
      const r = spawnSync(process.execPath, [MAIN, flag], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`raftledger ${pkg.version}\n`);
    }
    expect(VERSION).toBe(pkg.version);
  });

  it('reads it at run time, relative to the module (dist/ one level below the package root)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftledger-version-'));
    try {
      mkdirSync(join(dir, 'dist'));
      copyFileSync(join(ROOT, 'dist/version.js'), join(dir, 'dist/version.js'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'raftledger', version: '9.8.7-test', type: 'module' }));
      const script = `import(${JSON.stringify(pathToFileURL(join(dir, 'dist/version.js')).href)}).then((m) => process.stdout.write(m.VERSION))`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('9.8.7-test');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run bench', () => {
  it('points at a runner whose every benchmark file exists', () => {
    const match = /^node (\S+)$/.exec(pkg.scripts.bench ?? '');
    expect(match, pkg.scripts.bench).not.toBeNull();
    expect(existsSync(join(ROOT, match![1]!))).toBe(true);
    const r = spawnSync(process.execPath, [join(ROOT, match![1]!), '--list'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = [...r.stdout.matchAll(/ (bench\/\S+\.mjs) /g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(existsSync(join(ROOT, f)), f).toBe(true);
    const bad = spawnSync(process.execPath, [join(ROOT, match![1]!), 'no-such-bench'], { encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
  });
});
