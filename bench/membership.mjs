// Membership figures (issue 13), on a local cluster of `raftledger server` processes
// (src/tools/cluster/local-cluster.ts) driven by the bench load loop (load.ts):
//  (a) catch-up: a log of --log-mib MiB is appended to n0..n2, then n3 is started empty
//      (LocalCluster.addServer: a learner) and added with changeMembers addLearner; the
//      time until n3 has committed the last acknowledged index (and the MiB/s that is);
//  (b) throughput during a replacement: --duration-s of appends with nothing else going
//      on, then the same load while n4 is added as a learner, caught up, promoted and an
//      original follower removed (the load runs until the replacement is done and at
//      least --duration-s); ops/s of both and their ratio, and how long the replacement took;
//  (c) a removed leader hands over: the leader is removed, and the time from the request
//      until an append is acknowledged by a new leader (and until the removal committed).
// Prints one JSON line: the figures and the command. Bounded by --timeout-s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';

const usage = `Usage: node bench/membership.mjs [options]   (prints one JSON line)
  --log-mib N        MiB appended before the learner is added, for (a) (default 1024)
  --entry BYTES      payload bytes per entry of that log (default 65536)
  --duration-s S     seconds of each load of (b) (default 20)
  --concurrency N    appends in flight in (b) (default 64)
  --size BYTES       payload bytes per append in (b) (default 1024)
  --durability MODE  fsync or memory (default fsync)
  --dir DIR          where the data goes (default the OS temp dir)
  --timeout-s S      the whole run's bound; past it the run stops with an error (default 1800)
  --dist DIR         the built tree (default ../dist)
  -h, --help         this text
Smoke run: node bench/membership.mjs --log-mib 16 --duration-s 2`;
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(usage);
  process.exit(0);
}
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const num = (name, dflt) => {
  const v = Number(arg(name, String(dflt)));
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number`);
  return v;
};
const o = {
  logMib: num('log-mib', 1024),
  entry: num('entry', 65536),
  durationS: num('duration-s', 20),
  concurrency: num('concurrency', 64),
  size: num('size', 1024),
  durability: arg('durability', 'fsync'),
  timeoutS: num('timeout-s', 1800),
};
if (o.durability !== 'fsync' && o.durability !== 'memory') throw new RangeError('--durability must be fsync or memory');
const dist = resolve(arg('dist', join(fileURLToPath(import.meta.url), '../../dist')));
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { LocalCluster } = await load('tools/cluster/local-cluster.js');
const { runLoad } = await load('tools/cluster/load.js');
const { connect } = await load('client/index.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const root = mkdtempSync(join(arg('dir', '') || tmpdir(), 'raftledger-membership-bench-'));
const cluster = new LocalCluster({ replicas: 3, dir: root, durability: o.durability, segmentSizeBytes: 64 * 1024 * 1024, readyTimeoutMs: 60_000 });
/** Stop now (the time bound or a signal): kill the servers and remove the data, which can be many GiB. */
function abandon(why, code) {
  console.error(`membership bench: ${why}`);
  LocalCluster.killAllNow();
  try {
    // The killed servers may still be closing files in it: retry.
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch (error) {
    console.error(`membership bench: could not remove ${root}: ${error.message}`);
  }
  process.exit(code);
}
const bound = setTimeout(() => abandon(`not done within --timeout-s ${o.timeoutS}`, 1), o.timeoutS * 1000);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => abandon(`stopped by ${signal}`, 130));

/** Retry a change while the answer is retriable (another change in flight, a new leader, a learner still behind). */
async function change(client, c) {
  for (let i = 0; ; i++) {
    try {
      return await client.changeMembers(c);
    } catch (error) {
      if (i > 600 || !['ERR_CONF_CHANGE_IN_FLIGHT', 'ERR_NOT_COMMITTED_IN_TERM', 'ERR_LEARNER_BEHIND', 'ERR_TIMEOUT'].includes(error.code)) throw error;
      await sleep(50);
    }
  }
}

/** Until `server` has committed `index`. */
async function caughtUp(client, server, index) {
  for (;;) {
    const s = await client.status({ server }).catch(() => undefined);
    if (s !== undefined && s.commitIndex >= index) return;
    await sleep(20);
  }
}

const memberAddress = (s) => `${s.raft}/${s.client.split(':')[1]}`;

let client;
const result = { bench: 'membership', command: `node bench/membership.mjs ${argv.join(' ')}`.trim(), options: o };
try {
  await cluster.start();
  client = await connect({ servers: cluster.clientAddresses, deadlineMs: 60_000, idempotent: false });

  // (a) a learner catching up a log of --log-mib MiB
  console.error(`membership bench: (a) writing ${o.logMib} MiB, then adding a learner`);
  const payload = Buffer.alloc(o.entry);
  randomFillSync(payload);
  const total = Math.ceil((o.logMib * 1024 * 1024) / o.entry);
  let issued = 0;
  let lastIndex = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (issued < total) {
        const n = Math.min(16, total - issued);
        issued += n;
        const acks = await client.appendBatch(Array.from({ length: n }, () => payload));
        lastIndex = Math.max(lastIndex, acks[acks.length - 1].index);
      }
    }),
  );
  const n3 = await cluster.addServer('n3');
  const addStarted = performance.now();
  await change(client, { type: 'addLearner', id: 'n3', address: memberAddress(n3) });
  const addCommittedMs = performance.now() - addStarted;
  await caughtUp(client, n3.client, lastIndex);
  const catchUpMs = performance.now() - addStarted;
  console.error('membership bench: (a) learner caught up');
  result.catchUp = { logMib: o.logMib, entries: total, addCommittedMs: Math.round(addCommittedMs), caughtUpMs: Math.round(catchUpMs), mibPerSec: Number((o.logMib / (catchUpMs / 1000)).toFixed(1)) };
  await change(client, { type: 'promote', id: 'n3' });

  // (b) append throughput with and without a replacement
  console.error(`membership bench: (b) ${o.durationS} s of appends, then the same during a replacement`);
  const durationMs = o.durationS * 1000;
  const baseline = await runLoad({ client, concurrency: o.concurrency, sizeBytes: o.size, durationMs });
  const stop = new AbortController();
  const during = runLoad({ client, concurrency: o.concurrency, sizeBytes: o.size, durationMs: o.timeoutS * 1000, signal: stop.signal });
  const replaceStarted = performance.now();
  const n4 = await cluster.addServer('n4');
  await change(client, { type: 'addLearner', id: 'n4', address: memberAddress(n4) });
  const target = (await client.status()).commitIndex;
  await caughtUp(client, n4.client, target);
  await change(client, { type: 'promote', id: 'n4' });
  const leaderId = (await client.status()).leader;
  const victim = ['n1', 'n2', 'n0'].find((id) => id !== leaderId);
  await change(client, { type: 'remove', id: victim });
  const replacementMs = performance.now() - replaceStarted;
  const rest = durationMs - replacementMs;
  if (rest > 0) await sleep(rest);
  stop.abort();
  const withReplacement = await during;
  await cluster.kill(victim, 'SIGTERM');
  const rate = (r) => Math.round(r.ops / r.seconds);
  result.replacement = {
    baselineOpsPerSec: rate(baseline),
    duringOpsPerSec: rate(withReplacement),
    ratio: Number((rate(withReplacement) / Math.max(1, rate(baseline))).toFixed(3)),
    duringSeconds: Number(withReplacement.seconds.toFixed(1)),
    replacementMs: Math.round(replacementMs),
    removed: victim,
    errors: withReplacement.errors,
  };

  // (c) a removed leader hands over
  console.error('membership bench: (c) removing the leader');
  const status = await client.status();
  const oldLeader = status.leader;
  const handStarted = performance.now();
  let removeCommittedMs;
  const removal = change(client, { type: 'remove', id: oldLeader }).then(() => (removeCommittedMs = performance.now() - handStarted));
  await removal;
  let newLeader;
  for (;;) {
    await client.append(Buffer.from('after the removal'));
    newLeader = (await client.status()).leader;
    if (newLeader !== oldLeader && newLeader !== '' && newLeader !== undefined) break;
    await sleep(5);
  }
  result.leaderRemoval = { removed: oldLeader, newLeader, removeCommittedMs: Math.round(removeCommittedMs), handoverMs: Math.round(performance.now() - handStarted) };
  console.log(JSON.stringify(result));
} finally {
  clearTimeout(bound);
  await client?.close();
  await cluster.stop();
  rmSync(root, { recursive: true, force: true });
}
