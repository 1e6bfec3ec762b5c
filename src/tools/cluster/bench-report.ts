/**
 * The benchmark report: `report.json` (every cell as measured) and `index.html`, one
 * self-contained page (inline SVG and CSS, no script, nothing fetched) with the cells side
 * by side: ops/s per cell, a table of every figure, and, for the cells that carry them,
 * throughput and latency over time and the latency CDF. A cell is one benchmark result:
 * raftledger's `bench --json` line, or a peer's (../shared/peers) result line, which has
 * the same summary fields and no timeline.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistogramJson } from './latency-histogram.js';
import type { TimelinePoint } from './load.js';
import { barChart, escapeXml, lineChart, type Series } from './svg-chart.js';

export interface BenchCell {
  system?: string;
  durability?: string;
  valueSize?: number;
  concurrency?: number;
  groups?: number;
  workers?: number;
  ops?: number;
  errors?: number;
  seconds?: number;
  opsPerSec: number;
  MBps?: number;
  latMs?: { p50?: number; p99?: number; p999?: number; max?: number };
  timeline?: TimelinePoint[];
  latencyHistogram?: HistogramJson;
  machine?: { cpus?: number; model?: string; node?: string; loadGeneratorNodeFlags?: string[]; serverNodeFlags?: string[] };
  cpu?: { usPerAppend: number; shares: Record<string, number> };
  /** Elections begun during the measured window (raftledger cells). */
  termChanges?: number;
  /** The servers' 1 s loop-delay windows: their p99, and their longest stall (raftledger cells). */
  serverMainLoopDelayP99Ms?: { worst: number; samples: number };
  serverMainLoopDelayMaxMs?: { worst: number; samples: number };
  at?: string;
}

export interface BenchReport {
  generatedAt: string;
  cells: BenchCell[];
}

export function cellLabel(cell: BenchCell): string {
  const parts = [cell.system ?? 'unknown'];
  if (cell.durability !== undefined) parts.push(cell.durability);
  if (cell.valueSize !== undefined) parts.push(`${cell.valueSize} B`);
  if (cell.concurrency !== undefined) parts.push(`C=${cell.concurrency}`);
  if ((cell.groups ?? 1) > 1) parts.push(`G=${cell.groups}`);
  if ((cell.workers ?? 0) > 0) parts.push(`W=${cell.workers}`);
  return parts.join(' ');
}

/**
 * Benchmark cells from a file: one JSON object, a JSON array, or JSON lines (a line may
 * start with `RESULT `, as the peers' load generator prints them; other lines are skipped).
 * Throws an Error naming the file and line for a cell without a numeric opsPerSec.
 */
export function readBenchCells(path: string): BenchCell[] {
  const text = readFileSync(path, 'utf8');
  const trimmed = text.trim();
  const cells: unknown[] = [];
  if (trimmed.startsWith('[')) cells.push(...(JSON.parse(trimmed) as unknown[]));
  else {
    for (const [n, raw] of text.split('\n').entries()) {
      const line = raw.trim().replace(/^RESULT\s+/, '');
      if (!line.startsWith('{')) continue;
      try {
        cells.push(JSON.parse(line));
      } catch (error) {
        throw new Error(`${path}:${n + 1}: not JSON (${(error as Error).message})`);
      }
    }
  }
  return cells.map((c, i) => {
    if (typeof c !== 'object' || c === null || typeof (c as BenchCell).opsPerSec !== 'number') throw new Error(`${path}: cell ${i + 1} has no numeric opsPerSec`);
    return c as BenchCell;
  });
}

const STYLE = `body{font-family:sans-serif;margin:24px;color:#222;max-width:1060px}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}.note{color:#666;font-size:12px}figure{margin:12px 0}`;

function cell(v: unknown): string {
  return v === undefined || v === null ? '-' : escapeXml(String(v));
}

function table(cells: readonly BenchCell[]): string {
  const head = ['cell', 'ops/s', 'MB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'ops', 'errors', 'seconds', 'term changes', 'longest server stall ms', 'CPU us/append', 'CPU shares'];
  const rows = cells.map(
    (c) =>
      `<tr><td class="l">${escapeXml(cellLabel(c))}</td><td>${cell(c.opsPerSec)}</td><td>${cell(c.MBps)}</td><td>${cell(c.latMs?.p50)}</td><td>${cell(c.latMs?.p99)}</td><td>${cell(c.latMs?.p999)}</td><td>${cell(c.latMs?.max)}</td><td>${cell(c.ops)}</td><td>${cell(c.errors)}</td><td>${cell(c.seconds)}</td><td>${cell(c.termChanges)}</td><td>${cell(c.serverMainLoopDelayMaxMs?.worst)}</td><td>${cell(c.cpu?.usPerAppend)}</td><td class="l">${c.cpu === undefined ? '-' : escapeXml(Object.entries(c.cpu.shares).map(([n, sh]) => `${n} ${Math.round(sh * 100)}%`).join(', '))}</td></tr>`,
  );
  return `<table><thead><tr>${head.map((h, i) => `<th${i === 0 ? ' class="l"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function cdfPoints(h: HistogramJson): [number, number][] {
  let seen = 0;
  return h.buckets.map(([boundMs, n]) => {
    seen += n;
    return [boundMs, (100 * seen) / Math.max(h.count, 1)];
  });
}

/** The report page for these cells (a pure function of them, for tests). */
export function renderBenchReportHtml(report: BenchReport): string {
  const { cells } = report;
  const timed = cells.map((c, i) => ({ c, i })).filter(({ c }) => Array.isArray(c.timeline) && c.timeline.length > 0);
  const withHistogram = cells.map((c, i) => ({ c, i })).filter(({ c }) => c.latencyHistogram !== undefined && c.latencyHistogram.count > 0);
  const throughput: Series[] = timed.map(({ c, i }) => ({ name: cellLabel(c), colour: i, points: c.timeline!.map((p) => [p.atS, p.opsPerSec] as const) }));
  const latency: Series[] = timed.flatMap(({ c, i }) => [
    { name: `${cellLabel(c)} p99`, colour: i, points: c.timeline!.map((p) => [p.atS, p.p99Ms] as const) },
    { name: `${cellLabel(c)} p50`, colour: i, dashed: true, points: c.timeline!.map((p) => [p.atS, p.p50Ms] as const) },
  ]);
  const cdf: Series[] = withHistogram.map(({ c, i }) => ({ name: cellLabel(c), colour: i, points: cdfPoints(c.latencyHistogram!) }));
  const flagsOf = (flags: string[] | undefined): string => (flags === undefined ? '?' : flags.length === 0 ? 'none' : flags.join(' '));
  const machines = [
    ...new Set(
      cells
        .filter((c) => c.machine !== undefined)
        .map((c) => {
          const m = c.machine!;
          const flags = m.serverNodeFlags !== undefined ? ` (node flags: servers ${flagsOf(m.serverNodeFlags)}, load generator ${flagsOf(m.loadGeneratorNodeFlags)})` : '';
          return `${m.cpus ?? '?'} CPUs, ${m.model ?? '?'}, Node ${m.node ?? '?'}${flags}`;
        }),
    ),
  ];
  const parts = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>raftledger benchmark report</title><style>${STYLE}</style></head><body>`,
    `<h1>raftledger benchmark report</h1>`,
    `<p class="note">Generated ${escapeXml(report.generatedAt)}; ${cells.length} cell(s). ${machines.length > 0 ? `Machine: ${machines.map(escapeXml).join('; ')}.` : ''} Latency is measured at the client from invocation to acknowledgement. Figures from different runs are comparable only as ratios measured in the same window.</p>`,
    `<h2>Throughput per cell</h2><figure>${barChart('appends per second', 'ops/s', cells.map((c, i) => ({ label: cellLabel(c), value: c.opsPerSec, colour: i })))}</figure>`,
    `<h2>Every cell</h2>${table(cells)}`,
    `<h2>Throughput over time</h2><figure>${lineChart({ title: 'ops/s per interval', xLabel: 'seconds into the measured run', yLabel: 'ops/s', series: throughput, xFromZero: true })}</figure>`,
    `<h2>Latency over time</h2><figure>${lineChart({ title: 'p99 (solid) and p50 (dashed) per interval', xLabel: 'seconds into the measured run', yLabel: 'ms', series: latency, xFromZero: true })}</figure>`,
    `<h2>Latency distribution</h2><figure>${lineChart({ title: 'CDF: percent of appends acknowledged within x ms', xLabel: 'latency ms (log scale)', yLabel: 'percent', series: cdf, logX: true })}</figure>`,
    timed.length < cells.length ? `<p class="note">Cells without a timeline (e.g. peers' results) appear in the bar chart and the table only.</p>` : '',
    `</body></html>\n`,
  ];
  return parts.join('\n');
}

/** Write report.json and index.html into dir (created if missing); each file replaced atomically. */
export function writeBenchReport(dir: string, cells: readonly BenchCell[]): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const report: BenchReport = { generatedAt: new Date().toISOString(), cells: [...cells] };
  const json = join(dir, 'report.json');
  const html = join(dir, 'index.html');
  writeFileSync(`${json}.tmp`, `${JSON.stringify(report, null, 1)}\n`);
  renameSync(`${json}.tmp`, json);
  writeFileSync(`${html}.tmp`, renderBenchReportHtml(report));
  renameSync(`${html}.tmp`, html);
  return { json, html };
}
