// Render a benchmark report (bench --report DIR, or bench/cluster/matrix.mjs --report DIR)
// in headless Chromium and save a PNG beside it, to check that the page draws offline.
//   node bench/report-screenshot.mjs DIR [--out DIR/report.png] [--height 2200]
// Needs Debian's chromium package (apt-get install -y chromium). Exit 2 on bad usage or a
// missing browser, 1 if Chromium wrote no image.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
  console.log('Usage: node bench/report-screenshot.mjs DIR [--out PNG] [--height PX]');
  process.exit(args.length === 0 ? 2 : 0);
}
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const dir = resolve(args[0]);
const page = join(dir, 'index.html');
if (!existsSync(page)) {
  console.error(`report-screenshot: ${page} does not exist (write it with raftledger bench --report ${dir})`);
  process.exit(2);
}
const out = resolve(opt('out', join(dir, 'report.png')));
const height = Number(opt('height', '2200'));
if (!Number.isInteger(height) || height < 200 || height > 20000) {
  console.error(`report-screenshot: --height must be an integer in [200, 20000], got ${opt('height')}`);
  process.exit(2);
}
const browser = ['chromium', 'chromium-browser', 'google-chrome'].find((b) => spawnSync('which', [b]).status === 0);
if (browser === undefined) {
  console.error('report-screenshot: no Chromium found (apt-get install -y chromium)');
  process.exit(2);
}
// --no-sandbox: the sandbox needs user namespaces, which a root shell in a container often lacks.
const r = spawnSync(
  browser,
  ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--window-size=1100,${height}`, `--screenshot=${out}`, pathToFileURL(page).href],
  { encoding: 'utf8', timeout: 60_000 },
);
if (!existsSync(out) || statSync(out).size === 0) {
  console.error(`report-screenshot: ${browser} wrote no image (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  process.exit(1);
}
console.log(`report-screenshot: ${out} (${statSync(out).size} bytes)`);
