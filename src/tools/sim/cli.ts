/**
 * The simulator's runs as `raftledger simulate` makes them (src/cli/simulate.ts parses the
 * flags): seeds S..S+N-1 with a pass/fail line each, or one seed replayed with its trace.
 * Each returns the exit status: 0 if every seed passed, 1 otherwise.
 */
import { runSimulation, type SimResult } from './simulator.js';

type Out = (s: string) => void;

export interface SeedRunOptions {
  seeds: number;
  from: number;
  nodes: number;
  faultMs: number;
  quiet: boolean;
}

/** The command that replays one seed with the same settings. */
export function replayCommand(seed: number, nodes: number, faultMs: number): string {
  return `raftledger simulate --replay ${seed} --nodes ${nodes}${faultMs !== 3000 ? ` --fault-ms ${faultMs}` : ''}`;
}

export function runSeeds(options: SeedRunOptions, out: Out, err: Out): number {
  const { seeds, from, nodes, faultMs, quiet } = options;
  const t0 = performance.now();
  let failed = 0;
  let events = 0;
  for (let s = from; s < from + seeds; s++) {
    const r = runSimulation({ seed: s, nodes, faultMs });
    events += r.events;
    if (!r.ok) {
      failed++;
      err(`FAIL seed ${s} (nodes=${nodes}): ${r.violation}`);
      err(`  replay: ${replayCommand(s, nodes, faultMs)}`);
    } else if (!quiet) {
      out(summary(r));
    }
  }
  const secs = (performance.now() - t0) / 1000;
  out(
    `${seeds - failed}/${seeds} seeds passed (nodes=${nodes}, seeds ${from}..${from + seeds - 1}) in ${secs.toFixed(1)}s, ` +
      `${Math.round(events / Math.max(secs, 1e-6))} events/s`,
  );
  return failed === 0 ? 0 : 1;
}

export function runReplay(seed: number, nodes: number, faultMs: number, out: Out): number {
  const r = runSimulation({ seed, nodes, faultMs, onTrace: out });
  out(summary(r));
  return r.ok ? 0 : 1;
}

function summary(r: SimResult): string {
  return (
    `seed ${r.seed}: ${r.ok ? 'ok' : 'FAIL ' + r.violation} — ${r.events} events, ${r.timeMs}ms virtual, ` +
    `${r.proposed} proposed, ${r.acked} acked, ${r.committed} committed, ${r.elections} elections, ` +
    `${r.crashes} crashes, ${r.transfers} transfers, ${r.resets} resets`
  );
}
