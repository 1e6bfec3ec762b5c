// CRC32C micro benchmark: raftledger's addon against npm packages.
//   node bench/crc32c.mjs            (build the addon first: npx node-gyp rebuild)
// Prints ns/call and GB/s per implementation and buffer size, and how many times faster
// (>1) or slower (<1) raftledger's crc32c is than each. Results are not committed.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Bench } from 'tinybench';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = [join(root, 'build', 'Release', 'raftledger.node'), join(root, 'build', 'Debug', 'raftledger.node')].find(existsSync);
if (!addonPath) {
  console.error('raftledger addon not built: run `npx node-gyp rebuild`');
  process.exit(1);
}
const rl = require(addonPath);

const CHECK = Buffer.from('123456789');
const impls = [
  { name: `raftledger (${rl.crc32cImplementation()})`, fn: (b) => rl.crc32c(b), ours: true },
  { name: 'raftledger portable', fn: (b) => rl.crc32cPortable(b) },
];

function tryLoad(name, make) {
  try {
    const fn = make();
    const got = fn(CHECK) >>> 0;
    if (got !== 0xe3069283) throw new Error(`wrong check value 0x${got.toString(16)}`);
    impls.push({ name, fn });
  } catch (e) {
    console.log(`skipping ${name}: ${e && e.message ? e.message.split('\n')[0] : e}`);
  }
}

tryLoad('sse4_crc32', () => {
  const m = require('sse4_crc32');
  const label = m.hardware_support ? 'hardware' : 'table';
  console.log(`sse4_crc32 loaded (${label})`);
  return (b) => m.calculate(b);
});
tryLoad('fast-crc32c', () => {
  const m = require('fast-crc32c');
  let which = 'unknown';
  try {
    which = m === require('fast-crc32c/impls/sse4_crc32c') ? 'sse4_crc32 native' : 'pure JS';
  } catch {
    which = 'pure JS';
  }
  console.log(`fast-crc32c loaded (${which})`);
  return (b) => m.calculate(b);
});
tryLoad('@node-rs/crc32', () => {
  const m = require('@node-rs/crc32');
  return (b) => m.crc32c(b);
});

const sizes = [
  { label: '64 B', bytes: 64, inner: 2000 },
  { label: '1 KiB', bytes: 1024, inner: 500 },
  { label: '64 KiB', bytes: 64 * 1024, inner: 8 },
  { label: '1 MiB', bytes: 1024 * 1024, inner: 1 },
];

const results = []; // { size, impl, ns, gbps }
let sink = 0;
for (const size of sizes) {
  const buf = randomBytes(size.bytes);
  const bench = new Bench({ name: size.label, time: 250, warmupTime: 50 });
  for (const impl of impls) {
    const { fn } = impl;
    const inner = size.inner;
    bench.add(impl.name, () => {
      let x = 0;
      for (let i = 0; i < inner; i++) x ^= fn(buf);
      sink ^= x;
    });
  }
  await bench.run();
  for (const task of bench.tasks) {
    const r = task.result;
    if (!r || r.state !== 'completed') {
      console.log(`${size.label} ${task.name}: ${r ? r.state : 'no result'} ${r && r.error ? r.error.message : ''}`);
      continue;
    }
    const ns = (r.period * 1e6) / size.inner;
    results.push({ size: size.label, bytes: size.bytes, impl: task.name, ns, gbps: size.bytes / ns });
  }
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log(`\nnode ${process.version}, ${process.arch}; ours = ${impls[0].name}; "ours x" = how many times faster ours is\n`);
console.log(`${pad('size', 8)}${pad('implementation', 28)}${lpad('ns/call', 12)}${lpad('GB/s', 9)}${lpad('ours x', 9)}`);
for (const size of sizes) {
  const rows = results.filter((r) => r.size === size.label);
  const ours = rows.find((r) => r.impl === impls[0].name);
  for (const r of rows) {
    const ratio = ours ? (r.ns / ours.ns).toFixed(2) : '-';
    console.log(`${pad(size.label, 8)}${pad(r.impl, 28)}${lpad(r.ns.toFixed(1), 12)}${lpad(r.gbps.toFixed(2), 9)}${lpad(r === ours ? '1.00' : ratio, 9)}`);
  }
}
const hw = results.filter((r) => r.impl === impls[0].name);
const pt = results.filter((r) => r.impl === 'raftledger portable');
console.log('\nhardware vs portable (raftledger):');
for (const h of hw) {
  const p = pt.find((x) => x.size === h.size);
  if (p) console.log(`  ${pad(h.size, 8)} ${(p.ns / h.ns).toFixed(1)}x`);
}
if (sink === 0.5) console.log(sink);
