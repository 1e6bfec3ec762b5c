/**
 * The simulator with damage and repair events (issue 16): replicas (leaders too: they must
 * step down at once, checked at every damage event) are marked damaged from
 * a committed index and later repaired, among the usual faults; every invariant (election
 * safety, log matching, no acknowledged entry lost, liveness after healing) holds.
 * One seed, with its trace: RAFTLEDGER_SEED=<seed> npx vitest run test/raft/sim-damage.test.ts
 */
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/tools/sim/simulator.js';

const ENV_SEED = process.env.RAFTLEDGER_SEED;

describe('simulation with damaged replicas (issue 16)', () => {
  it('a fixed range of seeds, 3 and 5 nodes: no violation, damage and repair happen', () => {
    let damaged = 0;
    let leaders = 0;
    const seeds = ENV_SEED !== undefined ? [Number(ENV_SEED)] : Array.from({ length: 20 }, (_, i) => 9000 + i);
    for (const seed of seeds) {
      for (const nodes of [3, 5]) {
        const r = runSimulation({
          seed,
          nodes,
          damage: true,
          onTrace: (l) => {
            if (l.includes('DAMAGE ')) damaged++;
            if (l.includes('(leader) from index')) leaders++;
          },
        });
        expect(r.violation, `seed ${seed} nodes ${nodes} (replay with RAFTLEDGER_SEED=${seed})`).toBeUndefined();
      }
    }
    expect(damaged).toBeGreaterThan(0);
    expect(leaders, 'leaders are damaged too').toBeGreaterThan(0);
  });
});
