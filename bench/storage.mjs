// Storage benchmarks (run after `npm install`; uses dist/ and the addon):
//   node bench/storage.mjs [--quick]
// 1. append throughput at 128 B, 1 KiB, 16 KiB through the batch API (128 per call),
//    without per-batch flush (a background flush every 5 ms) and with a flush per batch;
// 2. open time of a log after a clean close and after kill -9, at two sizes (flatness);
// 3. full `verify` throughput with the files in the page cache.
// Prints a table and one JSON line per measurement. Bounded in time and disk (about 2.5 GiB).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';
import { SegmentedLog, verifyLog } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const root = mkdtempSync(join(tmpdir(), 'raftledger-bench-storage-'));
const results = [];
const report = (r) => {
  results.push(r);
  console.log(JSON.stringify(r));
};

async function appendBench(sizeBytes, flushPerBatch, totalBytes) {
  const dir = mkdtempSync(join(root, 'append-'));
  const log = await SegmentedLog.open({ dir, segmentSizeBytes: 256 * 1024 * 1024 });
  const pool = Buffer.alloc(sizeBytes * 128);
  randomFillSync(pool);
  const batch = Array.from({ length: 128 }, (_, i) => pool.subarray(i * sizeBytes, (i + 1) * sizeBytes));
  const count = Math.max(128, Math.floor(totalBytes / sizeBytes / 128) * 128);
  const started = performance.now();
  let written = 0;
  let sliceStart = performance.now();
  let flushing = Promise.resolve();
  while (written < count) {
    log.append(batch, 1);
    written += 128;
    if (flushPerBatch) {
      await log.flush();
    } else if (performance.now() - sliceStart > 5) {
      flushing = log.flush();
      await new Promise((r) => setImmediate(r));
      sliceStart = performance.now();
    }
  }
  await flushing;
  const appendedMs = performance.now() - started;
  await log.flush();
  const durableMs = performance.now() - started;
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  report({
    bench: 'append',
    sizeBytes,
    mode: flushPerBatch ? 'flush per batch of 128' : 'background flush',
    entries: written,
    entriesPerSec: Math.round((written / appendedMs) * 1000),
    MBps: Number(((written * sizeBytes) / appendedMs / 1000).toFixed(1)),
    durableMBps: Number(((written * sizeBytes) / durableMs / 1000).toFixed(1)),
  });
}

function writeLogInChild(dir, bytes, killAfterWrite) {
  const script = `
    import { SegmentedLog } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    const log = await SegmentedLog.open({ dir: ${JSON.stringify(dir)}, segmentSizeBytes: 256 * 1024 * 1024, checkpointIntervalMs: 100 });
    const payload = Buffer.alloc(4096, 7);
    const batch = Array.from({ length: 256 }, () => payload);
    let written = 0;
    while (written < ${bytes}) { log.append(batch, 1); written += 256 * 4096; if (written % (64 << 20) === 0) await log.flush(); }
    await log.flush();
    await new Promise((r) => setTimeout(r, 300)); // let a checkpoint land
    ${killAfterWrite ? "log.append(batch, 1); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);" : "await log.close(); process.stdout.write('ready\\n');"}
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      if (d.toString().includes('ready')) {
        if (killAfterWrite) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve() : reject(new Error(`writer failed: ${code}`))));
  });
}

async function openBench(bytes, afterKill) {
  const dir = mkdtempSync(join(root, 'open-'));
  await writeLogInChild(dir, bytes, afterKill);
  const started = performance.now();
  const log = await SegmentedLog.open({ dir });
  const ms = performance.now() - started;
  const info = { lastIndex: log.lastIndex, scanned: log.recovery.scannedRecords, usedCheckpoint: log.recovery.usedCheckpoint };
  await log.close();
  // verify throughput (files are in the page cache now)
  const v = await verifyLog(dir);
  rmSync(dir, { recursive: true, force: true });
  report({ bench: 'open', logBytes: bytes, after: afterKill ? 'kill -9' : 'clean close', openMs: Number(ms.toFixed(1)), ...info });
  report({ bench: 'verify', logBytes: v.scannedBytes, records: v.records, seconds: Number(v.seconds.toFixed(3)), GBps: Number((v.scannedBytes / v.seconds / 1e9).toFixed(2)), clean: v.clean });
}

try {
  const GiB = 1024 ** 3;
  for (const size of [128, 1024, 16 * 1024]) {
    const total = quick ? 64 << 20 : size === 16 * 1024 ? GiB : 256 << 20;
    await appendBench(size, false, total);
    await appendBench(size, true, quick ? 16 << 20 : 64 << 20);
  }
  const sizes = quick ? [256 << 20] : [256 << 20, 2 * GiB];
  for (const bytes of sizes) {
    await openBench(bytes, false);
    await openBench(bytes, true);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log('\nsummary:');
for (const r of results) {
  if (r.bench === 'append') console.log(`append ${String(r.sizeBytes).padStart(5)} B, ${r.mode.padEnd(24)} ${String(r.entriesPerSec).padStart(9)} entries/s  ${String(r.MBps).padStart(7)} MB/s`);
  if (r.bench === 'open') console.log(`open ${(r.logBytes / 2 ** 20).toFixed(0).padStart(5)} MiB after ${r.after.padEnd(12)} ${r.openMs} ms (scanned ${r.scanned} records)`);
  if (r.bench === 'verify') console.log(`verify ${(r.logBytes / 2 ** 20).toFixed(0).padStart(5)} MiB: ${r.GBps} GB/s`);
}
void fileURLToPath;
