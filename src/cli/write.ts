import { randomFillSync } from 'node:crypto';
import { RaftLedgerError } from '../errors.js';
import { SegmentedLog } from '../storage/index.js';
import { readIdentity } from '../storage/identity.js';
import { formatBytes, intOption, parse, UsageError, wantsHelp, type Command } from './args.js';

export const writeCommand: Command = {
  name: 'write',
  summary: 'append synthetic entries to a standalone (unreplicated) log',
  usage: `
Usage: raftledger write <dir> --count N --size BYTES [--batch B] [--flush-every K] [--segment-size BYTES] [--json]

Appends N entries of BYTES random bytes each to the log in <dir> (created when missing),
B entries per append call, flushing after every K batches (0: only at the end). For
storage benchmarks and test fixtures. Prints progress and a summary.

<dir> must be a standalone log: the log of a replica (a server's DIR/group-<g>, whose
raftledger.json names its node, cluster and group, or that holds a Raft hard state) is
refused, and so is a log another process has open.

Options:
  --count N            entries to append (required)
  --size BYTES         payload bytes per entry (required; k/m suffixes allowed)
  --batch B            entries per append call (default 128)
  --flush-every K      flush after every K batches (default 0)
  --segment-size BYTES segment size of a new log (default 64m)
  --term T             term stamped on the entries (default: the log's last term, at least 1)
  --json               print the summary as JSON
  --force-into-replica write into a replica's log anyway. This CORRUPTS that replica: the
                       entries are not in any other replica's log, and Raft treats them
                       as its own; when it next leads, they are replicated and committed
                       cluster-wide, overwriting what the other replicas hold there. Only
                       for a replica whose cluster is discarded afterwards (tests of damage)
  -h, --help           show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, {
      count: { type: 'string' },
      size: { type: 'string' },
      batch: { type: 'string' },
      'flush-every': { type: 'string' },
      'segment-size': { type: 'string' },
      term: { type: 'string' },
      json: { type: 'boolean' },
      'force-into-replica': { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('write needs exactly one <dir>');
    if (values.count === undefined || values.size === undefined) throw new UsageError('write needs --count and --size');
    const count = intOption(values, 'count', 0, 0);
    const size = intOption(values, 'size', 0, 0, 64 * 1024 * 1024);
    const batch = intOption(values, 'batch', 128, 1, 1 << 20);
    const flushEvery = intOption(values, 'flush-every', 0, 0);
    const segmentSizeBytes = values['segment-size'] === undefined ? undefined : intOption(values, 'segment-size', 0, 4096);
    const dir = positionals[0]!;
    const force = values['force-into-replica'] === true;
    const owner = readIdentity(dir)?.owner;
    if (owner !== undefined && !force) throw replicaRefused(dir, `node ${JSON.stringify(owner.nodeId)} of cluster ${JSON.stringify(owner.clusterId)}, group ${owner.group}`);
    const log = await SegmentedLog.open({ dir, ...(segmentSizeBytes !== undefined ? { segmentSizeBytes } : {}) });
    const raftTerm = log.meta.hardState.term;
    if (!force && raftTerm > 0) {
      // A replica's log from before directories had owners: it has voted or followed a leader.
      await log.close();
      throw replicaRefused(dir, `a replica (its hard state is at Raft term ${raftTerm})`);
    }
    const term = intOption(values, 'term', Math.max(1, log.lastTerm), 1);
    const pool = Buffer.alloc(Math.max(size, 1) * Math.min(batch, 64));
    randomFillSync(pool);
    const payloads: Buffer[] = [];
    for (let i = 0; i < batch; i++) {
      const start = (i % 64) * size;
      payloads.push(pool.subarray(start, start + size));
    }
    const started = performance.now();
    let lastReport = started;
    let written = 0;
    let batches = 0;
    const progress = values.json !== true && process.stderr.isTTY;
    try {
      while (written < count) {
        const n = Math.min(batch, count - written);
        log.append(n === batch ? payloads : payloads.slice(0, n), term);
        written += n;
        batches++;
        if (flushEvery > 0 && batches % flushEvery === 0) await log.flush();
        const now = performance.now();
        if (progress && now - lastReport > 500) {
          lastReport = now;
          const secs = (now - started) / 1000;
          process.stderr.write(`\rwrite: ${written}/${count} entries, ${((written * size) / secs / 1e6).toFixed(1)} MB/s   `);
        }
      }
      await log.flush();
    } finally {
      await log.close();
    }
    const seconds = (performance.now() - started) / 1000;
    if (progress) process.stderr.write('\n');
    const summary = {
      entries: written,
      payloadBytes: written * size,
      seconds,
      entriesPerSec: written / seconds,
      MBps: (written * size) / seconds / 1e6,
      lastIndex: log.lastIndex,
    };
    if (values.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      process.stdout.write(
        `wrote ${written} entries (${formatBytes(written * size)}) in ${seconds.toFixed(3)} s: ${Math.round(summary.entriesPerSec)} entries/s, ${summary.MBps.toFixed(1)} MB/s; last index ${log.lastIndex}\n`,
      );
    return 0;
  },
};

function replicaRefused(dir: string, whose: string): RaftLedgerError {
  return new RaftLedgerError(
    'ERR_FOREIGN_DIR',
    `${dir} is the Raft log of ${whose}; write refuses to append entries no leader sent (they would be committed cluster-wide). --force-into-replica overrides this for a cluster you discard`,
    { path: dir },
  );
}
