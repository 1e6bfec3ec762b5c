import { FAULT_KINDS, type FaultKind } from '../tools/check/nemesis.js';
import { formatSummary, runTorture } from '../tools/check/torture-run.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { choiceOption, intOption, numberOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { CommandCleanup } from './cleanup.js';

export const tortureCommand: Command = {
  name: 'torture',
  summary: 'run a local cluster under a workload and seeded faults, then check the history (Jepsen-style)',
  usage: `
Usage: raftledger torture [--duration S] [--faults LIST] [--seed N] [--durability fsync|memory]
                          [--replicas N] [--concurrency C] [--size BYTES] [--keep] [--verbose]
                          [--client-retries idempotent|at-least-once]

Starts a cluster of separate server processes on 127.0.0.1 whose peer traffic goes through
fault-injecting TCP proxies, runs a closed-loop append/read workload (each payload sent
once, with a unique id), and injects faults from a random schedule fixed by the seed,
printing each as it happens. Then it heals everything, waits for the replicas to converge,
stops them and checks the recorded history against every replica's log: no acknowledged
append lost, moved, changed or duplicated, no entry that was never appended, real-time
order kept, reads only of committed entries. Exit code 1 on any violation (or if the
cluster did not recover), 0 otherwise. SIGINT or SIGTERM stops the servers and removes
the data directory (unless --keep).

Fault kinds (comma-separated, or 'all'):
  kill       SIGKILL the leader / a follower / a random replica, restart it
  pause      SIGSTOP a replica for 2-5 election timeouts, then SIGCONT
  partition  isolate the leader or a replica, one-way loss, bridge, stall, delay+loss
  disk       while a replica is down: truncate its tail, flip a bit, or zero a page
  power      SIGKILL a replica and drop its writes that were not fsynced
  rolling    restart every replica in turn
  powerall   power loss of every replica at once (memory mode: the documented loss window)
  bitrot     flip bits in older records of a running replica (its background scrub must
             repair them; the servers run with --scrub-bytes-per-sec) or of a stopped one
             (restarted with no flags: it repairs them from its peers)
'all' is kill,pause,partition,disk,power,rolling,bitrot (not powerall).

Options:
  --duration S       seconds of faults (default 60); the workload runs 2 s longer
  --faults LIST      fault kinds (default kill,pause,partition,disk)
  --seed N           seed of the schedule (default: random, printed)
  --durability MODE  fsync (default) or memory
  --client-retries M append through the retrying client: 'idempotent' (exactly-once
                     appends: any duplicate fails the run) or 'at-least-once' (duplicates
                     counted, not failed); default: one attempt per payload
  --replicas N       replicas (default 3)
  --concurrency C    appends in flight (default 8)
  --size BYTES       payload size, at least 16 (default 64)
  --keep             keep the data directory (printed)
  --verbose          print the servers' log lines
  -h, --help         show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(
      argv,
      {
        duration: { type: 'string' },
        faults: { type: 'string' },
        seed: { type: 'string' },
        durability: { type: 'string' },
        'client-retries': { type: 'string' },
        replicas: { type: 'string' },
        concurrency: { type: 'string' },
        size: { type: 'string' },
        keep: { type: 'boolean' },
        verbose: { type: 'boolean' },
      },
      false,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const durationMs = numberOption(values, 'duration', 60, 1, 7 * 24 * 3600) * 1000;
    const rawFaults = String(values.faults ?? 'kill,pause,partition,disk');
    const faults = (rawFaults === 'all' ? ['kill', 'pause', 'partition', 'disk', 'power', 'rolling', 'bitrot'] : rawFaults.split(',').map((f) => f.trim()).filter((f) => f !== '')) as FaultKind[];
    for (const f of faults) if (!(FAULT_KINDS as readonly string[]).includes(f)) throw new UsageError(`unknown fault kind '${f}' (known: ${FAULT_KINDS.join(', ')}, all)`);
    if (faults.length === 0) throw new UsageError('--faults must name at least one fault kind');
    const seed = values.seed !== undefined ? intOption(values, 'seed', 0, 0, 0xffffffff) : Math.floor(Math.random() * 0xffffffff);
    const durability = choiceOption(values, 'durability', ['fsync', 'memory'] as const, 'fsync');
    const clientRetries = values['client-retries'] === undefined ? undefined : choiceOption(values, 'client-retries', ['idempotent', 'at-least-once'] as const, 'idempotent');
    const replicas = intOption(values, 'replicas', 3, 1, 9);
    const concurrency = intOption(values, 'concurrency', 8, 1, 1024);
    const payloadBytes = intOption(values, 'size', 64, 16, 1024 * 1024);
    const out = (line: string): void => {
      process.stdout.write(`${line}\n`);
    };
    const cleanup = new CommandCleanup('torture');
    // runTorture makes its data directory inside this one, which this command can remove on a signal.
    const parent = mkdtempSync(join(tmpdir(), 'raftledger-torture-run-'));
    if (values.keep !== true) cleanup.removeAtEnd(parent);
    let result;
    try {
      result = await runTorture({
        dir: parent,
        seed,
        durationMs,
        faults,
        durability,
        replicas,
        concurrency,
        payloadBytes,
        ...(clientRetries !== undefined ? { clientRetries } : {}),
        keep: values.keep === true,
        say: out,
        ...(values.verbose === true ? { onServerLog: (id: string, line: string) => out(`  ${id} | ${line}`) } : {}),
      });
    } finally {
      await cleanup.close();
    }
    out(formatSummary(result));
    if (!result.ok) out(`replay: raftledger torture --seed ${seed} --duration ${durationMs / 1000} --faults ${faults.join(',')} --durability ${durability} --replicas ${replicas}`);
    if (values.keep === true) out(`data kept in ${result.dir}`);
    return result.ok ? 0 : 1;
  },
};
