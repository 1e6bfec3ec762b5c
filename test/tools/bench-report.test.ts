import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram, BUCKETS_PER_DECADE } from '../../src/tools/cluster/latency-histogram.js';
import { cellLabel, readBenchCells, renderBenchReportHtml, type BenchCell } from '../../src/tools/cluster/bench-report.js';
import { percentile } from '../../src/tools/cluster/load.js';
import { HEAP_NODE_FLAGS } from '../../src/tools/node-flags.js';
import { MAIN } from '../cli/processes.js';
import { prng, testSeed, useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-report-');
const BUCKET_RATIO = 10 ** (1 / BUCKETS_PER_DECADE);

describe('LatencyHistogram', () => {
  it('percentiles are never below the exact value and at most one bucket above it', () => {
    const seed = testSeed('histogram');
    const rand = prng(seed);
    const h = new LatencyHistogram();
    const values = new Float64Array(20_000);
    for (let i = 0; i < values.length; i++) {
      // Log-uniform over 1 us .. 10 s, with some exact zeros.
      values[i] = rand() < 0.01 ? 0 : 10 ** (rand() * 7 - 3);
      h.record(values[i]!);
    }
    values.sort();
    expect(h.count).toBe(values.length);
    for (const p of [1, 10, 50, 90, 99, 99.9, 100]) {
      const exact = percentile(values, p);
      const got = h.percentile(p);
      expect(got, `p${p} seed ${seed}`).toBeGreaterThanOrEqual(exact);
      expect(got, `p${p} seed ${seed}`).toBeLessThanOrEqual(Math.max(exact * BUCKET_RATIO * (1 + 1e-9), 0.001));
    }
    expect(h.percentile(100)).toBe(values[values.length - 1]);
    const json = h.toJSON();
    expect(json.buckets.reduce((n, [, c]) => n + c, 0)).toBe(values.length);
    expect(json.buckets.map(([b]) => b)).toEqual([...json.buckets.map(([b]) => b)].sort((a, b) => a - b));
  });

  it('refuses a negative or NaN latency and answers 0 when empty', () => {
    const h = new LatencyHistogram();
    expect(h.percentile(99)).toBe(0);
    expect(() => h.record(-1)).toThrow(RangeError);
    expect(() => h.record(Number.NaN)).toThrow(RangeError);
  });
});

function syntheticCell(system: string, opsPerSec: number, seed: number): BenchCell {
  const rand = prng(seed);
  const h = new LatencyHistogram();
  for (let i = 0; i < 1000; i++) h.record(1 + rand() * 9);
  return {
    system,
    durability: 'memory',
    valueSize: 1024,
    concurrency: 128,
    opsPerSec,
    MBps: 1,
    latMs: { p50: h.percentile(50), p99: h.percentile(99), p999: h.percentile(99.9), max: h.maxMs },
    timeline: [1, 2, 3].map((s) => ({ atS: s, opsPerSec: opsPerSec + s, p50Ms: 2, p99Ms: 9, errors: 0 })),
    latencyHistogram: h.toJSON(),
  };
}

describe('the report page', () => {
  it('is self-contained and shows every cell, with and without a timeline', () => {
    const peer: BenchCell = { system: 'etcd', valueSize: 1024, concurrency: 128, opsPerSec: 4321, latMs: { p50: 30, p99: 80 } };
    const cells = [syntheticCell('raftledger', 51234, 1), syntheticCell('raftledger', 17, 2), peer];
    const html = renderBenchReportHtml({ generatedAt: '2026-12-01T00:00:00Z', cells });
    // Nothing to fetch: no script, no external stylesheet, image or font; the only URL is the SVG namespace.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html.match(/https?:\/\/[^"]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(4); // bars, throughput, latency, CDF
    for (const c of cells) {
      expect(html).toContain(`<td class="l">${cellLabel(c)}</td><td>${c.opsPerSec}</td>`);
    }
    // The two timed cells draw lines; p50 dashed beside p99.
    expect(html.match(/<polyline /g)!.length).toBe(2 + 4 + 2);
    expect(html).toContain('stroke-dasharray');
    expect(html).toContain('appear in the bar chart and the table only');
  });

  it('escapes what a result file says', () => {
    const html = renderBenchReportHtml({ generatedAt: 'x', cells: [{ system: '<script>alert(1)</script>', opsPerSec: 1 }] });
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;');
  });

  it('reads JSON lines, RESULT-prefixed lines and arrays, and names a bad line', () => {
    const dir = tempDir();
    const lines = join(dir, 'etcd.jsonl');
    writeFileSync(lines, 'starting etcd\nRESULT {"system":"etcd","opsPerSec":10}\n{"system":"etcd","opsPerSec":20}\n');
    expect(readBenchCells(lines).map((c) => c.opsPerSec)).toEqual([10, 20]);
    const array = join(dir, 'a.json');
    writeFileSync(array, '[{"opsPerSec":1},{"opsPerSec":2}]');
    expect(readBenchCells(array)).toHaveLength(2);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"opsPerSec":1}\n{"opsPerSec":\n');
    expect(() => readBenchCells(bad)).toThrow(/bad\.jsonl:2: not JSON/);
    const noOps = join(dir, 'noops.jsonl');
    writeFileSync(noOps, '{"system":"x"}\n');
    expect(() => readBenchCells(noOps)).toThrow(/cell 1 has no numeric opsPerSec/);
  });
});

describe('raftledger bench --report', () => {
  it('writes report.json with the timeline and histogram of the run, and index.html', () => {
    const dir = tempDir();
    const r = spawnSync(process.execPath, ['--max-semi-space-size=8', MAIN, 'bench', '--durability', 'memory', '--duration', '2', '--warmup', '0', '--concurrency', '8', '--report', dir, '--json'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchCell;
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { cells: BenchCell[] };
    expect(report.cells).toHaveLength(1);
    const cell = report.cells[0]!;
    expect(cell.ops).toBe(line.ops);
    expect(cell.ops).toBeGreaterThan(0);
    expect(cell.latencyHistogram!.count).toBe(cell.ops);
    expect(cell.timeline!.length).toBeGreaterThanOrEqual(1);
    expect(cell.timeline!.every((p) => p.atS > 0 && p.opsPerSec >= 0)).toBe(true);
    // The servers' longest stalls are sampled from the same windows as their p99.
    const p99 = cell.serverMainLoopDelayP99Ms!;
    const stall = cell.serverMainLoopDelayMaxMs!;
    expect(stall.samples).toBe(p99.samples);
    expect(stall.worst).toBeGreaterThanOrEqual(p99.worst);
    // CPU from /proc: every server and the load generator, shares summing to about 1.
    const cpu = cell.cpu as { usPerAppend: number; shares: Record<string, number>; systemShare: number };
    expect(Object.keys(cpu.shares).sort()).toEqual(['client', 'n0', 'n1', 'n2']);
    expect(cpu.usPerAppend).toBeGreaterThan(0);
    expect(Object.values(cpu.shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 1);
    // Loopback TCP between four processes costs kernel time; never all of it.
    expect(cpu.systemShare).toBeGreaterThan(0);
    expect(cpu.systemShare).toBeLessThan(1);
    // The node flags of both sides are on record (the heap flags change the figures).
    const machine = cell.machine as { loadGeneratorNodeFlags: string[]; serverNodeFlags: string[] };
    expect(machine.loadGeneratorNodeFlags).toEqual(['--max-semi-space-size=8']);
    expect(machine.serverNodeFlags).toEqual(expect.arrayContaining([...HEAP_NODE_FLAGS]));
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html).toContain(`<td>${cell.opsPerSec}</td>`);
    expect(html).toContain(`<td>${cell.seconds}</td><td>${cell.termChanges}</td><td>${stall.worst}</td>`);
    expect(html).toContain('load generator --max-semi-space-size=8');
  });

  it('refuses a payload larger than a segment, before starting anything', () => {
    const r = spawnSync(process.execPath, [MAIN, 'bench', '--size', '5000', '--segment-size', '4096'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--size 5000 does not fit in a segment of 4096 bytes/);
    expect(r.stderr).not.toMatch(/starting/);
  });

  it('refuses --report with --failover', () => {
    const r = spawnSync(process.execPath, [MAIN, 'bench', '--failover', '1', '--report', tempDir()], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--report goes with a throughput run/);
  });
});
