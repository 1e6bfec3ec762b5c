/**
 * Whole-cluster simulation over a fixed range of seeds (see src/tools/sim/).
 * Each seed runs a fault phase (partitions, one-way cuts, drops, duplicates,
 * reordering, crashes losing unflushed writes, restarts, transfers, spurious
 * campaigns) followed by a healed phase in which a leader must be elected and
 * a new proposal committed. Invariants are checked after every event.
 *
 * Sized to finish well under 60 s on a shared 2-core machine. For more:
 *   npx raftledger simulate --seeds 2000 [--nodes 5]
 * One seed, with its trace on failure: RAFTLEDGER_SEED=<seed> npx vitest run test/raft/sim.test.ts
 */
import { describe, expect, it } from 'vitest';
import { runSimulation, type SimResult } from '../../src/tools/sim/simulator.js';
import { runSimulateCli } from '../../src/cli/simulate.js';

const SEEDS_3 = { from: 1, count: 400 };
const SEEDS_5 = { from: 1, count: 150 };

/**
 * Pinned seeds: [seed, nodes, why].
 *
 * No seed has failed against the current core. These are the seeds that
 * caught bugs deliberately injected into the core (one at a time, in a
 * scratch copy of dist/) while the simulator was being calibrated; each must
 * keep passing, and fails again if that bug comes back.
 */
const REGRESSIONS: [number, number, string][] = [
  [1179, 3, 'vote grant released before the vote was durable -> two leaders in term 1'],
  [1309, 3, 'vote grant released before the vote was durable -> two leaders in term 2'],
  [167, 3, 'follower acknowledged entries before they were durable -> committed entry lost after crashes'],
  [184, 3, 'follower acknowledged entries before they were durable -> committed entry lost after crashes'],
  [74, 3, 'leader counted its own non-durable entries towards commit -> committed entry lost'],
  [159, 3, 'leader counted its own non-durable entries towards commit -> committed entry lost'],
  [6, 3, 'votes granted without the up-to-date log check -> committed entry overwritten'],
  [28, 3, 'votes granted without the up-to-date log check -> committed entry overwritten'],
  [1085, 5, 'message storm (OOM) under a fully reordering network: probe/replicate flapping; links are now FIFO with occasional reordering'],
  // Issue 12, caught with the old rule (lower match on a rejection below it) put back:
  [1, 3, 'a rejection overtaken by a later ack lowered match (leader view check)'],
  [103, 3, 'a stale rejection lowered match below the compacted prefix: follower parked in catch-up (needsCatchUp check)'],
];

const ENV_SEED = process.env.RAFTLEDGER_SEED;

function check(r: SimResult): void {
  if (!r.ok) {
    throw new Error(
      `seed ${r.seed} (nodes=${r.nodes}) violated: ${r.violation}\n` +
        `  replay: RAFTLEDGER_SEED=${r.seed} npx vitest run test/raft/sim.test.ts, or npx raftledger simulate --replay ${r.seed} --nodes ${r.nodes}`,
    );
  }
}

describe('raft simulation', () => {
  it.runIf(ENV_SEED !== undefined).each([3, 5])(`RAFTLEDGER_SEED=${ENV_SEED}, %i nodes (trace printed on failure)`, (nodes) => {
    const r = runSimulation({ seed: Number(ENV_SEED), nodes, trace: true });
    if (!r.ok) process.stdout.write(r.trace.slice(-400).join('\n') + '\n');
    check(r);
  });

  it(`3 nodes, seeds ${SEEDS_3.from}..${SEEDS_3.from + SEEDS_3.count - 1}`, () => {
    let acked = 0;
    for (let s = SEEDS_3.from; s < SEEDS_3.from + SEEDS_3.count; s++) {
      const r = runSimulation({ seed: s, nodes: 3 });
      check(r);
      acked += r.acked;
    }
    expect(acked).toBeGreaterThan(SEEDS_3.count * 100); // the workload really ran
  });

  it(`5 nodes, seeds ${SEEDS_5.from}..${SEEDS_5.from + SEEDS_5.count - 1}`, () => {
    for (let s = SEEDS_5.from; s < SEEDS_5.from + SEEDS_5.count; s++) check(runSimulation({ seed: s, nodes: 5 }));
  });

  it.each(REGRESSIONS)('regression seed %i (nodes=%i): %s', (seed, nodes) => {
    check(runSimulation({ seed, nodes }));
  });

  it('is deterministic: a seed replays to the same trace', () => {
    const a = runSimulation({ seed: 7, trace: true, faultMs: 1000 });
    const b = runSimulation({ seed: 7, trace: true, faultMs: 1000 });
    expect(a.trace.length).toBeGreaterThan(100);
    expect(b.trace).toEqual(a.trace);
  });

  it('the CLI runs seeds, replays with a trace and prints help', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(await runSimulateCli(['--seeds', '2', '--from', '5'], (s) => out.push(s), (s) => err.push(s))).toBe(0);
    expect(out.at(-1)).toMatch(/2\/2 seeds passed/);
    out.length = 0;
    expect(await runSimulateCli(['--replay', '3', '--fault-ms', '500'], (s) => out.push(s))).toBe(0);
    expect(out.some((l) => l.includes('recv'))).toBe(true);
    out.length = 0;
    expect(await runSimulateCli(['--help'], (s) => out.push(s))).toBe(0);
    expect(out.join('\n')).toMatch(/--replay/);
    expect(await runSimulateCli(['--nodes', '4'], () => {}, (s) => err.push(s))).toBe(2);
  });
});
