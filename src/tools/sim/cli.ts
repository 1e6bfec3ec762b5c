/**
 * `raftledger simulate` / `node dist/tools/sim/cli.js`: runs the seeded
 * whole-cluster simulator over a range of seeds, or replays one with a trace.
 */
import { runSimulation, type SimResult } from './simulator.js';

const HELP = `usage: simulate [--seeds N] [--from S] [--nodes 3|5] [--fault-ms MS] [--quiet]
       simulate --replay S [--nodes 3|5] [--fault-ms MS]

Runs the Raft core in a simulated cluster (virtual clock, lossy network,
crashing disks) for seeds S..S+N-1 and checks safety and liveness invariants
after every event. Exit status 0 if every seed passes, 1 otherwise.

  --seeds N      number of seeds to run (default 100)
  --from S       first seed (default 1)
  --nodes 3|5    cluster size (default 3)
  --fault-ms MS  length of the fault phase in virtual ms (default 3000)
  --replay S     run one seed and print its full event trace
  --quiet        print only failures and the summary
  --help         this text
`;

type Out = (s: string) => void;

function parseIntArg(v: string | undefined, name: string): number {
  if (v === undefined || !/^\d+$/.test(v)) throw new RangeError(`simulate: ${name} needs a non-negative integer`);
  return Number(v);
}

export async function runSimulateCli(
  argv: readonly string[],
  out: Out = (s) => process.stdout.write(s + '\n'),
  err: Out = (s) => process.stderr.write(s + '\n'),
): Promise<number> {
  let seeds = 100;
  let from = 1;
  let nodes = 3;
  let faultMs = 3000;
  let replay: number | undefined;
  let quiet = false;
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      switch (a) {
        case '--help':
        case '-h':
          out(HELP);
          return 0;
        case '--seeds':
          seeds = parseIntArg(argv[++i], a);
          break;
        case '--from':
          from = parseIntArg(argv[++i], a);
          break;
        case '--nodes':
          nodes = parseIntArg(argv[++i], a);
          if (nodes !== 3 && nodes !== 5) throw new RangeError('simulate: --nodes must be 3 or 5');
          break;
        case '--fault-ms':
          faultMs = parseIntArg(argv[++i], a);
          break;
        case '--replay':
          replay = parseIntArg(argv[++i], a);
          break;
        case '--quiet':
          quiet = true;
          break;
        default:
          throw new RangeError(`simulate: unknown argument ${String(a)}`);
      }
    }
  } catch (e) {
    err((e as Error).message);
    err(HELP);
    return 2;
  }

  if (replay !== undefined) {
    const r = runSimulation({ seed: replay, nodes, faultMs, onTrace: out });
    out(summary(r));
    return r.ok ? 0 : 1;
  }

  const t0 = performance.now();
  let failed = 0;
  let events = 0;
  for (let s = from; s < from + seeds; s++) {
    const r = runSimulation({ seed: s, nodes, faultMs });
    events += r.events;
    if (!r.ok) {
      failed++;
      err(`FAIL seed ${s} (nodes=${nodes}): ${r.violation}`);
      err(`  replay: node dist/cli/main.js simulate --replay ${s} --nodes ${nodes}${faultMs !== 3000 ? ` --fault-ms ${faultMs}` : ''}`);
    } else if (!quiet) {
      out(summary(r));
    }
  }
  const secs = (performance.now() - t0) / 1000;
  out(
    `${seeds - failed}/${seeds} seeds passed (nodes=${nodes}, seeds ${from}..${from + seeds - 1}) in ${secs.toFixed(1)}s, ` +
      `${Math.round(events / secs)} events/s`,
  );
  return failed === 0 ? 0 : 1;
}

function summary(r: SimResult): string {
  return (
    `seed ${r.seed}: ${r.ok ? 'ok' : 'FAIL ' + r.violation} — ${r.events} events, ${r.timeMs}ms virtual, ` +
    `${r.proposed} proposed, ${r.acked} acked, ${r.committed} committed, ${r.elections} elections, ` +
    `${r.crashes} crashes, ${r.transfers} transfers, ${r.resets} resets`
  );
}

// Runnable directly: node dist/tools/sim/cli.js ...
const self = import.meta.url;
const invoked = process.argv[1];
if (invoked !== undefined && (self === `file://${invoked}` || self.endsWith(invoked.replace(/\\/g, '/')))) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // e.g. piped into head
    throw e;
  });
  runSimulateCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(String(e) + '\n');
      process.exitCode = 1;
    },
  );
}
