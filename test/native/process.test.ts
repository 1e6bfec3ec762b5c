// Process-level behaviour: ERR_NO_SPACE on a full filesystem, exit with flushes in flight,
// and one flusher per worker thread.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../src/storage/native.js';
import { codeOf, tempDir } from './helpers.js';

const addonPath = resolve('build/Release/raftledger.node');
let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('rl-proc-');
});
afterAll(() => tmp.cleanup());

describe('ERR_NO_SPACE', () => {
  const mnt = () => join(tmp.dir, 'tiny');
  let mounted = false;
  beforeAll(() => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
    mkdirSync(mnt(), { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt()], { stdio: 'ignore' });
      mounted = true;
    } catch {
      mounted = false;
    }
  });
  afterAll(() => {
    if (mounted) spawnSync('umount', [mnt()], { stdio: 'ignore' });
  });

  it('createSegment larger than the free space throws ERR_NO_SPACE and leaves no file', async (ctx) => {
    if (!mounted) ctx.skip();
    const path = join(mnt(), '00000000000000000000');
    const r = codeOf(() => native.createSegment(path, 4 << 20));
    const err = r.error as Error & { code: string; errno: number; syscall: string; path: string };
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_NO_SPACE');
    expect(err.errno).toBe(28);
    expect(err.syscall).toBe('fallocate');
    expect(err.path).toBe(path);
    // the partial file was removed, so a smaller segment fits
    const seg = native.createSegment(path, 256 << 10);
    await seg.close();
    // extending a short file beyond the free space fails the same way
    writeFileSync(join(mnt(), 'short'), 'x');
    expect(codeOf(() => native.openSegment(join(mnt(), 'short'), 4 << 20)).code).toBe('ERR_NO_SPACE');
  });
});

function runNode(script: string, timeoutMs = 20_000) {
  const file = join(tmp.dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [file], { timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, ADDON: addonPath, DIR: tmp.dir } });
  return { ...r, ms: Date.now() - t0 };
}

describe('process lifetime', () => {
  it('an idle addon does not keep the process alive', () => {
    const r = runNode(`
      import { createRequire } from 'node:module';
      const n = createRequire(import.meta.url)(process.env.ADDON);
      const seg = n.createSegment(process.env.DIR + '/idle', 1 << 20);
      seg.write(0, Buffer.from('x'));
      console.log('ok');
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
  });

  it('exits by itself after close() with flushes in flight', () => {
    const r = runNode(`
      import { createRequire } from 'node:module';
      const n = createRequire(import.meta.url)(process.env.ADDON);
      const seg = n.createSegment(process.env.DIR + '/inflight', 8 << 20);
      // close() waits for this segment's own jobs (flushes, prefault); atomicWriteFile is not
      // one of them, so it is only required to finish before the process exits.
      let settled = 0;
      for (let i = 0; i < 200; i++) {
        seg.write(i * 4096, Buffer.alloc(4096, i));
        seg.flush(i * 4096, 4096).then(() => settled++);
      }
      seg.prefault().then(() => settled++);
      n.atomicWriteFile(process.env.DIR + '/meta', Buffer.from('m')).then(() => console.log('meta written'));
      seg.close().then(() => console.log('closed', settled));
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['closed 201', 'meta written']);
  });

  it('exits when the script ends without awaiting anything (flushes pending, no close)', () => {
    const r = runNode(`
      import { createRequire } from 'node:module';
      const n = createRequire(import.meta.url)(process.env.ADDON);
      const seg = n.createSegment(process.env.DIR + '/noclose', 4 << 20);
      for (let i = 0; i < 50; i++) { seg.write(i, Buffer.from('y')); seg.flush(0, 4096); }
      seg.prefault();
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
  });

  it('process.exit() with work in flight does not hang or crash', () => {
    const r = runNode(`
      import { createRequire } from 'node:module';
      const n = createRequire(import.meta.url)(process.env.ADDON);
      const seg = n.createSegment(process.env.DIR + '/exit', 64 << 20);
      seg.prefault();
      for (let i = 0; i < 50; i++) seg.flush(0, 1 << 20);
      process.exit(3);
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(3);
  });

  it('worker threads each get their own flusher; terminate() with flushes in flight is clean', () => {
    const r = runNode(`
      import { Worker } from 'node:worker_threads';
      const src = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const n = require(workerData.addon);
        const seg = n.createSegment(workerData.path, 4 << 20);
        (async () => {
          for (let round = 0; round < 20; round++) {
            const ps = [];
            for (let i = 0; i < 20; i++) { seg.write(i * 100, Buffer.alloc(100, round)); ps.push(seg.flush(i * 100, 100)); }
            await Promise.all(ps);
          }
          parentPort.postMessage('done');
          for (let i = 0; i < 100; i++) seg.flush(0, 4 << 20);
          seg.prefault();
          setInterval(() => {}, 1000);
        })();
      \`;
      const workers = [];
      for (let w = 0; w < 4; w++) {
        workers.push(new Promise((res, rej) => {
          const wk = new Worker(src, { eval: true, workerData: { addon: process.env.ADDON, path: process.env.DIR + '/w' + w } });
          wk.once('message', async () => { await wk.terminate(); res(w); });
          wk.once('error', rej);
        }));
      }
      Promise.all(workers).then((ids) => console.log('workers', ids.length));
    `);
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('workers 4');
  });
});
