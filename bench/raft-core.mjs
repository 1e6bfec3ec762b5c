// Raft core micro-benchmark: a 3-node in-memory cluster driven as fast as
// possible on one thread (synchronous "disk": entries are durable as soon as
// written), plus the simulator's event rate.
//
//   npx tsc -p tsconfig.build.json && node bench/raft-core.mjs [--seconds 2] [--json]
import { MemoryStorage, RaftCore } from '../dist/raft/index.js';
import { runSimulation } from '../dist/tools/sim/simulator.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] || 2) || 2;
const asJson = args.includes('--json');

function makeCluster() {
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map();
  const queue = [];
  for (const id of ids) {
    const storage = new MemoryStorage();
    const core = new RaftCore({ id, peers: ids, storage, seed: ids.indexOf(id) + 1 });
    nodes.set(id, { id, core, storage });
  }
  function drain(node) {
    const core = node.core;
    while (core.hasReady()) {
      const rd = core.ready();
      if (rd.hardState) node.storage.setHardState(rd.hardState);
      const ents = rd.entries;
      if (ents.length > 0) node.storage.append(ents);
      const msgs = rd.messages;
      for (let i = 0; i < msgs.length; i++) queue.push(msgs[i]);
      core.advance(rd);
      if (ents.length > 0) {
        const last = ents[ents.length - 1];
        core.markDurable(last.index, last.term);
      }
    }
  }
  function deliver() {
    let n = 0;
    while (n < queue.length) {
      const m = queue[n++];
      const node = nodes.get(m.to);
      node.core.step(m);
      drain(node);
    }
    queue.length = 0;
  }
  const leader = nodes.get('n1');
  leader.core.campaign();
  drain(leader);
  deliver();
  if (leader.core.role !== 'leader') throw new Error('bench: no leader');
  return { nodes, leader, drain, deliver };
}

function benchCommit(batch) {
  const { nodes, leader, drain, deliver } = makeCluster();
  const payload = new Uint8Array(16);
  const payloads = Array.from({ length: batch }, () => payload);
  const start = leader.core.commitIndex;
  let rounds = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let now = t0;
  while (now < deadline) {
    for (let k = 0; k < 64; k++) {
      leader.core.propose(payloads);
      drain(leader);
      deliver();
      rounds++;
    }
    // keep memory flat: drop applied entries
    if (rounds % 4096 === 0) for (const n of nodes.values()) n.storage.compact(n.core.appliedIndex);
    now = performance.now();
  }
  const committed = leader.core.commitIndex - start;
  for (const n of nodes.values()) {
    if (n.core.commitIndex < leader.core.commitIndex - batch) throw new Error('bench: follower behind');
  }
  const secs = (now - t0) / 1000;
  return { batch, committed, seconds: secs, entriesPerSec: Math.round(committed / secs), roundsPerSec: Math.round(rounds / secs) };
}

function benchSim() {
  let events = 0;
  let seeds = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const r = runSimulation({ seed: 1 + seeds, nodes: 3 });
    if (!r.ok) throw new Error(`sim seed ${r.seed}: ${r.violation}`);
    events += r.events;
    seeds++;
  }
  const secs = (performance.now() - t0) / 1000;
  return { seeds, events, seconds: secs, eventsPerSec: Math.round(events / secs) };
}

benchCommit(128); // warm-up
const results = {
  node: process.version,
  batch1: benchCommit(1),
  batch128: benchCommit(128),
  simulator: benchSim(),
};
if (asJson) {
  console.log(JSON.stringify(results));
} else {
  console.log(`3-node in-memory cluster, one thread (${process.version}):`);
  for (const k of ['batch1', 'batch128']) {
    const r = results[k];
    console.log(`  batch ${String(r.batch).padStart(3)}: ${r.entriesPerSec.toLocaleString('en-US')} committed entries/s (${r.roundsPerSec.toLocaleString('en-US')} propose→commit rounds/s)`);
  }
  const s = results.simulator;
  console.log(`  simulator: ${s.eventsPerSec.toLocaleString('en-US')} events/s (${s.seeds} seeds in ${s.seconds.toFixed(1)}s)`);
}
