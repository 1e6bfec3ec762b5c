// LedgerHost startup check (recovery + full CRC verify of every group's log before it opens):
// on the calling thread (W = 0) against piscina tasks on W worker threads. Writes G group
// logs of M MiB each in a temp dir (one-node cluster, 4 KiB entries), drops nothing from the
// page cache (so this measures CRC and parsing, not the disk), then opens the host with
// startupCheck: 'verify' once per worker count and reports the check's wall time.
//   node bench/startup-check.mjs [--groups 8] [--mib 64] [--workers 0,2]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerHost } from '../dist/host/index.js';
import { reserveNodeAddresses } from '../dist/tools/cluster/ports.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const groups = Number(arg('groups', '8'));
const mib = Number(arg('mib', '64'));
const workerCounts = arg('workers', '0,2').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'raftledger-bench-startup-'));

async function open(workers, startupCheck, lines) {
  const peers = await reserveNodeAddresses(['a'], workers);
  return LedgerHost.open({
    dir, id: 'a', workers, groups, durability: 'memory', segmentSizeBytes: 64 << 20, startupCheck,
    peers,
    tickMs: 10, heartbeatTicks: 2, electionTicks: 5,
    log: (line) => lines.push(line),
  });
}

try {
  const writer = await open(Math.min(2, Math.max(...workerCounts)), 'none', []);
  const payloads = Array.from({ length: 64 }, () => Buffer.alloc(4096, 1));
  const perGroup = Math.ceil((mib << 20) / (64 * (4096 + 48)));
  for (let g = 0; g < groups; g++) {
    for (;;) {
      try {
        await writer.append(g, payloads.slice(0, 1), { copy: true });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20)); // not leader yet
      }
    }
    for (let i = 0; i < perGroup; i++) await writer.append(g, payloads, { copy: true });
    process.stderr.write(`wrote group ${g + 1}/${groups}\r`);
  }
  await writer.close();
  const results = [];
  for (const workers of workerCounts) {
    const lines = [];
    const t0 = performance.now();
    const host = await open(workers, 'verify', lines);
    const openMs = performance.now() - t0;
    await host.close();
    const took = lines.map((l) => /startup check of .* took (\d+) ms/.exec(l)).find(Boolean);
    const r = { workers, groups, mibPerGroup: mib, checkMs: took ? Number(took[1]) : null, openMs: Math.round(openMs) };
    results.push(r);
    console.log(JSON.stringify(r));
  }
  const base = results.find((r) => r.workers === 0);
  if (base) for (const r of results) if (r !== base) console.log(`startup check, ${groups} x ${mib} MiB: W=${r.workers} ${r.checkMs} ms vs W=0 ${base.checkMs} ms (${(base.checkMs / r.checkMs).toFixed(2)}x faster)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
