import { LocalCluster } from '../tools/cluster/local-cluster.js';
import { choiceOption, intOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { CommandCleanup } from './cleanup.js';
import { writableDir } from './dirs.js';

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'start a local cluster of server processes and keep it running until Ctrl-C',
  usage: `
Usage: raftledger cluster --dir DIR [--replicas N] [--base-port P] [--durability fsync|memory] [--groups G]

Starts N separate 'raftledger server' processes on 127.0.0.1, data in DIR/n0, DIR/n1, ...,
prints their addresses, and stops them all on Ctrl-C (SIGINT) or SIGTERM (a second
signal kills them at once). Server logs go to stderr prefixed with the server id; a
server that exits on its own (or is killed from outside) is reported there, and the
command ends (exit 1) once none is left. The servers exit if this command dies, even by
SIGKILL. DIR is kept: start the cluster on it again to continue.

Options:
  --dir DIR            data directory (created if missing; required)
  --replicas N         number of replicas (default 3)
  --base-port P        Raft ports P, P+1, ...; client ports P+100, ... (default: free ports)
  --durability MODE    fsync (default) or memory
  --groups G           Raft groups per server (default 1)
  --quiet              do not forward server logs
  -h, --help           show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(
      argv,
      {
        dir: { type: 'string' },
        replicas: { type: 'string' },
        'base-port': { type: 'string' },
        durability: { type: 'string' },
        groups: { type: 'string' },
        quiet: { type: 'boolean' },
      },
      false,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.dir === undefined) throw new UsageError('cluster needs --dir');
    const replicas = intOption(values, 'replicas', 3, 1, 15);
    const basePort = intOption(values, 'base-port', 0, 0, 65000);
    const durability = choiceOption(values, 'durability', ['fsync', 'memory'] as const, 'fsync');
    const groups = intOption(values, 'groups', 1, 1, 100_000);
    const dir = writableDir(String(values.dir), '--dir');
    let signalled: (reason: string) => void = () => {};
    const stopped = new Promise<string>((resolveStop) => {
      signalled = resolveStop;
    });
    const cleanup = new CommandCleanup('cluster', { onSignal: (signal) => signalled(signal) });
    let running = 0;
    const cluster = new LocalCluster({
      dir,
      replicas,
      basePort,
      durability,
      groups,
      onLog: values.quiet === true ? undefined : (id, line) => process.stderr.write(`${id} | ${line}\n`),
      onExit: (id, code, signal) => {
        running = cluster.ids.filter((i) => cluster.isRunning(i)).length;
        process.stderr.write(`raftledger cluster: server ${id} exited (${signal !== null ? `killed by ${signal}` : `exit code ${code}`}); ${running} of ${cluster.ids.length} still running\n`);
        if (running === 0) signalled('none running');
      },
    });
    try {
      const starting = cluster.start();
      starting.catch(() => {}); // awaited below unless a signal came first
      const first = await Promise.race([starting.then(() => 'started'), stopped]);
      if (first !== 'started') {
        process.stdout.write(`${first} while starting: stopping...\n`);
        return 0;
      }
      process.stdout.write(`raftledger cluster: ${cluster.ids.length} replicas in ${dir}\n`);
      for (const s of cluster.servers.values()) process.stdout.write(`  ${s.id}  raft ${s.raft}  client ${s.client}  pid ${s.pid}\n`);
      process.stdout.write(`clients: --servers ${cluster.clientAddresses.join(',')}\nPress Ctrl-C to stop.\n`);
      const why = await stopped;
      if (why === 'none running') {
        process.stdout.write('every server has exited: stopping\n');
        return 1;
      }
      process.stdout.write('stopping...\n');
      return 0;
    } finally {
      await cleanup.close();
    }
  },
};
