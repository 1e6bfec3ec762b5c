/**
 * Reads in the simulator (src/tools/sim/reads.ts): every seed of sim.test.ts
 * already checks that a confirmed read's index is >= every index committed
 * before the read was issued. These pinned seeds failed that check when the
 * ReadIndex wait for the leader's first commit of its term was removed
 * (injected in a scratch build); they must keep passing, with reads confirmed.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/tools/sim/simulator.js';

const PINNED: [number, number][] = [
  [15, 3],
  [21, 5],
  [1, 3],
  [16, 3],
];

describe('simulated reads (linearizability of ReadIndex and lease reads)', () => {
  for (const [seed, nodes] of PINNED) {
    it(`seed ${seed}, ${nodes} nodes`, () => {
      const sim = new Simulation({ seed, nodes });
      const res = sim.run();
      expect(res.violation, `seed ${seed}: replay with new Simulation({ seed: ${seed}, nodes: ${nodes}, trace: true })`).toBeUndefined();
      expect(sim.reads.stats.confirmed).toBeGreaterThan(0);
      expect(sim.reads.stats.issued).toBeGreaterThanOrEqual(sim.reads.stats.confirmed);
    });
  }

  // Seed 179 forces two campaigns while the partitioned old leader still holds its lease
  // (leader stickiness bypassed, which the lease clock assumption rules out); its lease read
  // then answered below what the new leader had committed and the check reported a
  // violation of the core. Such reads are counted, not checked (reads.ts).
  it('seed 179: a lease read inside a forced campaign\'s window is counted, not checked', () => {
    const sim = new Simulation({ seed: 179, nodes: 3 });
    const res = sim.run();
    expect(res.violation, 'replay with raftledger simulate --replay 179').toBeUndefined();
    expect(sim.reads.stats.leaseUnchecked).toBeGreaterThan(0);
    expect(sim.reads.stats.confirmed).toBeGreaterThan(0);
  });
});
