// Memory per producer in the exactly-once producer table (issue 14): fill a ProducerTable
// with N producers, each with R runs (R = 5, the kept maximum: each run a separate batch at
// non-adjacent indexes, so none merge), and measure heapUsed before and after with a full
// GC (--expose-gc) in between. Also the bytes per producer of the `producers` file
// (docs/FORMAT.md, "Producer table file") for the same table. Deterministic: no clock, no I/O.
//   node --expose-gc bench/producer-table-memory.mjs [--producers 20000] [--runs 5] [--rounds 3] [--dist DIR]
// Prints one JSON line: bytes per producer on the heap (median over rounds) and in the file.
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
if (process.argv.includes('--help')) {
  console.log('usage: node --expose-gc bench/producer-table-memory.mjs [--producers N (20000)] [--runs R (1..5, 5)] [--rounds K (3)] [--dist DIR (../dist)]');
  process.exit(0);
}
const producers = Number(arg('producers', '20000'));
const runs = Number(arg('runs', '5'));
const rounds = Number(arg('rounds', '3'));
const dist = resolve(arg('dist', join(fileURLToPath(import.meta.url), '../../dist')));
for (const [k, v, max] of [['producers', producers, 10_000_000], ['runs', runs, 5], ['rounds', rounds, 100]]) {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`--${k} must be an integer in 1..${max}`);
}
if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (a full GC before each measurement)');
  process.exit(2);
}
const { ProducerTable } = await import(pathToFileURL(join(dist, 'replica/producer-table.js')).href);
const { encodeProducerBase } = await import(pathToFileURL(join(dist, 'replica/producer-file.js')).href);

function fill() {
  const t = new ProducerTable(producers);
  for (let id = 1; id <= producers; id++) {
    // Ids as the network client gets them (random 53-bit: not small integers).
    const producerId = 2 ** 40 + id * 7919;
    for (let k = 0; k < runs; k++) t.record({ producerId, epoch: 0, sequence: k }, 1, id * 100 + 2 * k, 1);
  }
  return t;
}

const perProducer = [];
let table;
for (let r = 0; r < rounds; r++) {
  table = undefined;
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  table = fill();
  globalThis.gc();
  perProducer.push((process.memoryUsage().heapUsed - before) / producers);
}
if (table.size !== producers) throw new Error(`table holds ${table.size} producers, expected ${producers}`);
const fileBytes = encodeProducerBase(table, producers * 100).byteLength;
perProducer.sort((a, b) => a - b);
console.log(JSON.stringify({
  bench: 'producer-table-memory',
  producers,
  runsPerProducer: runs,
  rounds,
  heapBytesPerProducer: Math.round(perProducer[Math.floor(rounds / 2)]),
  heapBytesPerProducerAll: perProducer.map((v) => Math.round(v)),
  fileBytesPerProducer: Math.round((fileBytes - 24) / producers),
  fileBytes,
  node: process.version,
  command: `node --expose-gc bench/producer-table-memory.mjs --producers ${producers} --runs ${runs} --rounds ${rounds}`,
}));
