import { runSimulateCli } from '../tools/sim/cli.js';
import type { Command } from './args.js';

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'run the seeded Raft simulator over many seeds, or replay one with a trace',
  usage: `
Usage: raftledger simulate --seeds N [--from S] [--nodes 3|5] [--fault-ms MS] [--quiet]
       raftledger simulate --replay S [--nodes 3|5]

Runs the pure Raft core in simulated clusters (virtual clock, lossy network, crashing
disks) and checks safety and liveness invariants after every event. Prints each failing
seed; exit status 0 only if every seed passed. --replay prints one seed's full trace.
`,
  async run(argv) {
    return runSimulateCli(argv);
  },
};
