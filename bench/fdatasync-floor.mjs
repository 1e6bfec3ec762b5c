// The disk's share of a C = 1 `fsync` append: P processes at once (as the replicas of one
// machine do), each writing a record of S bytes after the last and then fdatasync()ing it,
// N times; p50 / p90 / p99 of the fdatasync calls for each P in --processes.
//   node bench/fdatasync-floor.mjs [--processes 1,3] [--count 2000] [--size 1100] [--dir DIR (default the OS temp dir)]
import { fork } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';

if (process.argv[2] === '--child') {
  const [file, count, size] = [process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
  const fd = openSync(file, 'w');
  const record = Buffer.alloc(size, 7);
  const ms = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    writeSync(fd, record, 0, size, i * size);
    const t = process.hrtime.bigint();
    fdatasyncSync(fd);
    ms[i] = Number(process.hrtime.bigint() - t) / 1e6;
  }
  closeSync(fd);
  process.send(Array.from(ms), () => process.exit(0));
} else {
  const HELP = 'usage: node bench/fdatasync-floor.mjs [--processes 1,3] [--count 2000] [--size 1100] [--dir DIR]';
  const { arg, num } = benchArgs(HELP, ['processes', 'count', 'size', 'dir']);
  const counts = arg('processes', '1,3').split(',').map(Number);
  if (counts.some((p) => !Number.isInteger(p) || p < 1 || p > 16)) {
    process.stderr.write(`--processes takes integers in 1..16\n${HELP}\n`);
    process.exit(2);
  }
  const count = Math.min(100_000, Math.floor(num('count', '2000', 1)));
  const size = Math.min(1 << 20, Math.floor(num('size', '1100', 1)));
  const dir = mkdtempSync(join(arg('dir', tmpdir()), 'raftledger-fdatasync-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));
  const self = fileURLToPath(import.meta.url);
  for (const p of counts) {
    const runs = await Promise.all(
      Array.from({ length: p }, (_, k) => new Promise((resolve, reject) => {
        const child = fork(self, ['--child', join(dir, `f${k}`), String(count), String(size)]);
        child.once('message', resolve);
        child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`child exited ${code}`))));
      })),
    );
    const all = Float64Array.from(runs.flat()).sort();
    const q = (x) => all[Math.min(all.length - 1, Math.ceil(x * all.length) - 1)].toFixed(3);
    console.log(`${p} process(es) at once, ${count} x (${size} B write + fdatasync) each: fdatasync p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms`);
  }
}
