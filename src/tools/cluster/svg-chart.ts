/**
 * Static SVG charts for the benchmark report: the markup is complete in itself (no script,
 * no external font or stylesheet), so a report opens offline and renders the same in any
 * browser or in headless Chromium.
 */

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Drawn dashed (e.g. p50 beside a solid p99 of the same cell). */
  dashed?: boolean;
  /** Index into the palette; series of one cell share a colour. */
  colour: number;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  logX?: boolean;
  /** y axis from 0 (default) or from the smallest value. */
  yFromZero?: boolean;
  /** x axis from 0 (for time) rather than from the smallest value; ignored with logX. */
  xFromZero?: boolean;
}

export interface Bar {
  label: string;
  value: number;
  colour: number;
}

const WIDTH = 1000;
const HEIGHT = 300;
const MARGIN = { left: 70, right: 320, top: 30, bottom: 45 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function colourOf(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Round, human tick values covering [lo, hi]. */
function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) ticks.push(10 ** e);
  return ticks;
}

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a >= 1) return String(Number(v.toPrecision(3)));
  return String(Number(v.toPrecision(2)));
}

function frame(title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(title)}"><rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/><text x="${MARGIN.left}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>${body}</svg>`;
}

function legend(entries: readonly { name: string; colour: number; dashed?: boolean }[]): string {
  const x = WIDTH - MARGIN.right + 12;
  return entries
    .slice(0, 16)
    .map((e, i) => {
      const y = MARGIN.top + 8 + i * 16;
      return `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${colourOf(e.colour)}" stroke-width="2"${e.dashed === true ? ' stroke-dasharray="4 3"' : ''}/><text x="${x + 24}" y="${y + 4}">${escapeXml(e.name)}</text>`;
    })
    .join('');
}

/** A line chart; an empty series list draws the axes and a "no data" note. */
export function lineChart(spec: LineChartSpec): string {
  const points = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (spec.logX !== true || x > 0));
  if (points.length === 0) return frame(spec.title, `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="#888">no data</text>`);
  let [xLo, xHi] = [Math.min(...points.map((p) => p[0])), Math.max(...points.map((p) => p[0]))];
  const yHiRaw = Math.max(...points.map((p) => p[1]));
  const yLoRaw = spec.yFromZero === false ? Math.min(...points.map((p) => p[1])) : 0;
  if (spec.xFromZero === true && spec.logX !== true) xLo = Math.min(0, xLo);
  if (spec.logX === true) [xLo, xHi] = [10 ** Math.floor(Math.log10(xLo)), 10 ** Math.ceil(Math.log10(xHi))];
  if (xHi === xLo) xHi = xLo + 1;
  const yTicks = linearTicks(yLoRaw, yHiRaw === yLoRaw ? yLoRaw + 1 : yHiRaw);
  const [yLo, yHi] = [Math.min(yLoRaw, yTicks[0]!), Math.max(yHiRaw, yTicks[yTicks.length - 1]!)];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number =>
    MARGIN.left + (spec.logX === true ? (Math.log10(x) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo)) : (x - xLo) / (xHi - xLo)) * plotW;
  const sy = (y: number): number => MARGIN.top + plotH - ((y - yLo) / (yHi - yLo || 1)) * plotH;
  const xTicks = spec.logX === true ? logTicks(xLo, xHi) : linearTicks(xLo, xHi, 6);
  let body = `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`;
  for (const t of yTicks) body += `<line x1="${MARGIN.left}" y1="${sy(t)}" x2="${MARGIN.left + plotW}" y2="${sy(t)}" stroke="#eee"/><text x="${MARGIN.left - 6}" y="${sy(t) + 4}" text-anchor="end">${formatNumber(t)}</text>`;
  for (const t of xTicks) body += `<text x="${sx(t)}" y="${MARGIN.top + plotH + 15}" text-anchor="middle">${formatNumber(t)}</text>`;
  body += `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`;
  body += `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`;
  for (const s of spec.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (spec.logX !== true || x > 0));
    if (pts.length === 0) continue;
    const d = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    body += `<polyline fill="none" stroke="${colourOf(s.colour)}" stroke-width="1.8"${s.dashed === true ? ' stroke-dasharray="4 3"' : ''} points="${d}"/>`;
    if (pts.length === 1) body += `<circle cx="${sx(pts[0]![0]).toFixed(1)}" cy="${sy(pts[0]![1]).toFixed(1)}" r="3" fill="${colourOf(s.colour)}"/>`;
  }
  return frame(spec.title, body + legend(spec.series));
}

/** A horizontal bar chart, one bar per entry, labelled with its value. */
export function barChart(title: string, unit: string, bars: readonly Bar[]): string {
  const rowH = 22;
  const height = MARGIN.top + 10 + Math.max(bars.length, 1) * rowH + 20;
  const labelW = 360;
  const plotW = WIDTH - labelW - 90;
  const max = Math.max(1, ...bars.map((b) => b.value));
  let body = '';
  bars.forEach((b, i) => {
    const y = MARGIN.top + 10 + i * rowH;
    const w = Math.max(1, (b.value / max) * plotW);
    body += `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${escapeXml(b.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colourOf(b.colour)}"/><text x="${labelW + w + 6}" y="${y + 14}">${formatNumber(b.value)} ${escapeXml(unit)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(title)}"><rect width="${WIDTH}" height="${height}" fill="#fff"/><text x="10" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>${body}</svg>`;
}
