import { runReplay, runSeeds, type SeedRunOptions } from '../tools/sim/cli.js';
import { choiceOption, intOption, parse, UsageError, wantsHelp, type Command } from './args.js';

type Out = (s: string) => void;

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'run the seeded Raft simulator over many seeds, or replay one with a trace',
  usage: `
Usage: raftledger simulate [--seeds N] [--from S] [--nodes 3|5] [--fault-ms MS] [--quiet]
       raftledger simulate --replay S [--nodes 3|5] [--fault-ms MS]

Runs the pure Raft core in simulated clusters (virtual clock, lossy network, crashing
disks) for seeds S..S+N-1 and checks safety and liveness invariants after every event.
Prints each failing seed with the command that replays it; exit status 0 only if every
seed passed. --replay prints one seed's full event trace.

Options:
  --seeds N      number of seeds to run (default 100)
  --from S       first seed (default 1)
  --nodes 3|5    cluster size (default 3)
  --fault-ms MS  length of the fault phase in virtual ms (default 3000)
  --replay S     run one seed and print its full event trace
  --quiet        print only failures and the summary
  -h, --help     show this help
`,
  async run(argv) {
    return runSimulateCli(argv);
  },
};

/**
 * `raftledger simulate ARGS` with its output streams given (tests): the exit status, 2 with
 * the CLI's usage message on bad arguments.
 */
export async function runSimulateCli(argv: string[], out: Out = (s) => process.stdout.write(`${s}\n`), err: Out = (s) => process.stderr.write(`${s}\n`)): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(simulateCommand.usage.trim());
    return 0;
  }
  let options: SeedRunOptions & { replay: number | undefined };
  try {
    const { values, positionals } = parse(
      argv,
      { seeds: { type: 'string' }, from: { type: 'string' }, nodes: { type: 'string' }, 'fault-ms': { type: 'string' }, replay: { type: 'string' }, quiet: { type: 'boolean' } },
      false,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    options = {
      seeds: intOption(values, 'seeds', 100, 1, 10_000_000),
      from: intOption(values, 'from', 1, 0),
      nodes: Number(choiceOption(values, 'nodes', ['3', '5'] as const, '3')),
      faultMs: intOption(values, 'fault-ms', 3000, 0, 3_600_000),
      replay: values.replay === undefined ? undefined : intOption(values, 'replay', 0, 0),
      quiet: values.quiet === true,
    };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`raftledger simulate: ${error.message}\nRun 'raftledger simulate --help' for usage.`);
    return 2;
  }
  if (options.replay !== undefined) return runReplay(options.replay, options.nodes, options.faultMs, out);
  return runSeeds(options, out, err);
}
