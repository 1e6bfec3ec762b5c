import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../client/index.js';
import { SegmentedLog } from '../storage/index.js';
import { groupDir } from '../replica/group-set.js';
import { LocalCluster } from '../tools/cluster/local-cluster.js';
import { AckLog } from './ack-log.js';
import { runLoad } from '../tools/cluster/load.js';
import { waitForLeader, waitForViews } from '../tools/cluster/cluster-status.js';
import { intOption, numberOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { CommandCleanup } from './cleanup.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'start a 3-replica cluster, append, kill the leader, recover, and verify every acknowledged entry',
  usage: `
Usage: raftledger demo [--seconds S] [--size BYTES] [--concurrency C] [--keep]

The main job ('npm start'): starts a cluster of 3 separate server processes in a
temporary directory, appends a stream of messages with a live progress line, kills the
leader with SIGKILL, shows the new leader and how long the failover took, keeps
appending, restarts the killed replica and shows it catch up, then checks that every
acknowledged entry is present, identical and in order on all three replicas.
SIGINT or SIGTERM stops the servers and removes the directory (unless --keep).

Options:
  --seconds S       length of each appending phase (default 4)
  --size BYTES      payload size (default 1024)
  --concurrency C   appends in flight (default 64)
  --keep            keep the data directory (printed) instead of removing it
  -h, --help        show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, { seconds: { type: 'string' }, size: { type: 'string' }, concurrency: { type: 'string' }, keep: { type: 'boolean' } }, false);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const phaseMs = numberOption(values, 'seconds', 4, 0.5, 600) * 1000;
    const sizeBytes = intOption(values, 'size', 1024, 8, 1024 * 1024);
    const concurrency = intOption(values, 'concurrency', 64, 1, 10_000);
    const cleanup = new CommandCleanup('demo');
    const dir = mkdtempSync(join(tmpdir(), 'raftledger-demo-'));
    if (values.keep !== true) cleanup.removeAtEnd(dir);
    const out = (line: string): void => {
      process.stdout.write(`${line}\n`);
    };
    const progress = (label: string) => (p: { ops: number; recentOpsPerSec: number; recentP99Ms: number; errors: number }) => {
      const line = `  ${label}: ${p.ops} entries acknowledged, ${((p.recentOpsPerSec * sizeBytes) / 1e6).toFixed(1)} MB/s, p99 ${p.recentP99Ms.toFixed(1)} ms${p.errors > 0 ? `, ${p.errors} retried errors` : ''}`;
      if (process.stdout.isTTY) process.stdout.write(`\r${line}   `);
      else out(line);
    };
    const endProgress = (): void => {
      if (process.stdout.isTTY) process.stdout.write('\n');
    };
    const cluster = new LocalCluster({ replicas: 3, dir, durability: 'fsync' });
    let client;
    const acked = new AckLog();
    const onAck = (ack: { index: number; pos: number }, payload: Buffer): void => acked.record(ack.index, ack.pos, payload);
    try {
      out(`raftledger demo: 3 replicas as separate processes, data in ${dir}`);
      await cluster.start();
      for (const s of cluster.servers.values()) out(`  ${s.id}: pid ${s.pid}, raft ${s.raft}, clients ${s.client}`);
      client = await connect({ servers: cluster.clientAddresses, deadlineMs: 20_000 });
      const first = await waitForLeader(client, 20_000);
      out(`leader elected: ${first.id} (term ${first.term})`);

      out(`phase 1: appending ${sizeBytes}-byte messages, ${concurrency} in flight, durability fsync`);
      await runLoad({ client, concurrency, sizeBytes, durationMs: phaseMs, onAck, onProgress: progress('phase 1'), unique: true });
      endProgress();

      const victim = first.id!;
      out(`killing the leader ${victim} (pid ${cluster.servers.get(victim)!.pid}) with SIGKILL while appending`);
      let killedAt = 0;
      let recoveredAt = 0;
      const phase2 = runLoad({
        client,
        concurrency,
        sizeBytes,
        durationMs: phaseMs + 1000,
        unique: true,
        onAck: (ack, payload, invokedAt, ackedAt) => {
          onAck(ack, payload);
          if (killedAt > 0 && invokedAt >= killedAt && recoveredAt === 0) recoveredAt = ackedAt;
        },
        onProgress: progress('phase 2'),
      });
      await new Promise((r) => setTimeout(r, 500));
      killedAt = performance.now();
      await cluster.kill(victim, 'SIGKILL');
      const second = await waitForLeader(client, 20_000, victim);
      await phase2;
      endProgress();
      out(`new leader: ${second.id} (term ${second.term}); appends succeeded again ${recoveredAt > 0 ? `${(recoveredAt - killedAt).toFixed(0)} ms` : '(not yet)'} after the kill`);

      out(`restarting ${victim}`);
      const restartAt = performance.now();
      await cluster.startServer(victim);
      const target = acked.lastIndex;
      const views = await waitForViews(client, (v) => (v.find((r) => r.id === victim)?.commitIndex ?? 0) >= target, 60_000, `${victim} did not catch up`);
      out(`${victim} caught up to index ${views.find((r) => r.id === victim)!.commitIndex} in ${(performance.now() - restartAt).toFixed(0)} ms`);

      out('phase 3: appending with all three replicas back');
      await runLoad({ client, concurrency, sizeBytes, durationMs: phaseMs / 2, onAck, onProgress: progress('phase 3'), unique: true });
      endProgress();
      const last = acked.lastIndex;
      await waitForViews(client, (v) => v.length > 0 && v.every((r) => (r.commitIndex ?? 0) >= last), 30_000, 'replicas did not all commit the last acknowledged entry');
      await client.close();
      client = undefined;
      await cluster.stop();

      out(`verifying ${acked.size} acknowledged entries on all three replicas`);
      let problems = 0;
      for (const id of cluster.ids) {
        const log = await SegmentedLog.open({ dir: groupDir(join(dir, id), 0), readOnly: true });
        try {
          let checked = 0;
          let previous = 0;
          for (const [index] of acked.sorted()) {
            if (index <= previous) problems++;
            previous = index;
            if (index > log.lastIndex) {
              problems++;
              continue;
            }
            const entry = log.read(index);
            if (acked.matches(index, entry.pos, entry.data)) checked++;
            else problems++;
          }
          out(`  ${id}: ${checked}/${acked.size} acknowledged entries present and identical (log ${log.firstIndex}..${log.lastIndex})`);
        } finally {
          await log.close();
        }
      }
      if (acked.duplicates > 0) out(`  ${acked.duplicates} indexes were acknowledged twice`);
      const ok = problems === 0 && acked.duplicates === 0;
      out(ok ? `OK: no acknowledged entry lost, changed, duplicated or reordered.` : `FAILED: ${problems + acked.duplicates} problems found`);
      return ok ? 0 : 1;
    } finally {
      await client?.close();
      await cleanup.close();
      if (values.keep === true) out(`data kept in ${dir}`);
    }
  },
};
