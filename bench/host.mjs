// LedgerHost scaling, in one process: three nodes (LedgerHosts a, b, c) on loopback, G
// Raft groups each, W worker threads per host (W = 0: every group on the main thread).
// C appends of 1 KiB in flight, spread over the groups, sent to each group's leader
// through the main-thread API; reports appends/s and the main thread's event-loop delay
// (p99, perf_hooks.monitorEventLoopDelay) under that load. With all three nodes in one
// process, W = 0 runs every Raft group of every node on one thread, so this measures what
// worker threads add on this machine. Beside the figures: the CPU the process used (cores,
// and microseconds per append, all threads) and context switches per append (all threads,
// from /proc/self/task): what a worker thread costs shows there.
//   node bench/host.mjs [--groups 8] [--workers 0,2] [--seconds 5] [--durability memory] [--concurrency 128]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerHost } from '../dist/host/index.js';
import { reserveNodeAddresses } from '../dist/tools/cluster/ports.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const groups = Number(arg('groups', '8'));
const workerCounts = arg('workers', '0,2').split(',').map(Number);
const seconds = Number(arg('seconds', '5'));
const durability = arg('durability', 'memory');
const concurrency = Number(arg('concurrency', '128'));
const IDS = ['a', 'b', 'c'];

/** Voluntary + involuntary context switches of every thread of this process so far (Linux; 0 elsewhere). */
function contextSwitches() {
  let total = 0;
  let tasks = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  for (const t of tasks) {
    try {
      const status = readFileSync(`/proc/self/task/${t}/status`, 'utf8');
      for (const m of status.matchAll(/ctxt_switches:\s+(\d+)/g)) total += Number(m[1]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}

async function run(workers) {
  const dir = mkdtempSync(join(tmpdir(), 'raftledger-bench-host-'));
  const peers = await reserveNodeAddresses(IDS, workers);
  const hosts = await Promise.all(
    IDS.map((id) => LedgerHost.open({ dir: join(dir, id), id, peers, workers, groups, durability, segmentSizeBytes: 4 << 20 })),
  );
  try {
    const leaderOf = new Map();
    const deadline = Date.now() + 30_000;
    while (leaderOf.size < groups && Date.now() < deadline) {
      for (const h of hosts) for (const g of (await h.status()).groups) if (g.role === 'leader') leaderOf.set(g.group, h);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (leaderOf.size < groups) throw new Error(`only ${leaderOf.size}/${groups} groups elected a leader`);
    const payload = Buffer.alloc(1024, 7);
    const load = async (ms, record) => {
      let ops = 0;
      let errors = 0;
      const end = performance.now() + ms;
      await Promise.all(
        Array.from({ length: concurrency }, async (_, k) => {
          const group = k % groups;
          while (performance.now() < end) {
            try {
              await leaderOf.get(group).append(group, payload, { copy: true });
              ops++;
            } catch {
              errors++;
              await new Promise((r) => setTimeout(r, 5));
            }
          }
        }),
      );
      return { ops, errors };
    };
    await load(1000);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const switches0 = contextSwitches();
    const { ops, errors } = await load(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const switches = contextSwitches() - switches0;
    delay.disable();
    const cpuUs = cpu.user + cpu.system;
    return {
      workers,
      groups,
      durability,
      concurrency,
      opsPerSec: Math.round(ops / elapsed),
      errors,
      loopDelayP99Ms: Number((delay.percentile(99) / 1e6).toFixed(2)),
      cpuCores: Number((cpuUs / 1e6 / elapsed).toFixed(2)),
      cpuUsPerAppend: Number((cpuUs / Math.max(ops, 1)).toFixed(1)),
      contextSwitchesPerAppend: Number((switches / Math.max(ops, 1)).toFixed(2)),
    };
  } finally {
    await Promise.all(hosts.map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const w of workerCounts) {
  const r = await run(w);
  results.push(r);
  console.log(JSON.stringify(r));
}
const base = results.find((r) => r.workers === 0);
if (base !== undefined) for (const r of results) if (r !== base) console.log(`W=${r.workers} vs W=0 at G=${groups}: ${(r.opsPerSec / base.opsPerSec).toFixed(2)}x throughput; main-thread loop delay p99 ${r.loopDelayP99Ms} ms (W=0: ${base.loopDelayP99Ms} ms); CPU ${r.cpuUsPerAppend} us/append on ${r.cpuCores} cores (W=0: ${base.cpuUsPerAppend} on ${base.cpuCores}); context switches/append ${r.contextSwitchesPerAppend} (W=0: ${base.contextSwitchesPerAppend})`);
