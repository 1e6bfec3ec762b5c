import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { LocalCluster } from '../tools/cluster/local-cluster.js';
import { choiceOption, intOption, parse, UsageError, wantsHelp, type Command } from './args.js';

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'start a local cluster of server processes and keep it running until Ctrl-C',
  usage: `
Usage: raftledger cluster --dir DIR [--replicas N] [--base-port P] [--durability fsync|memory] [--groups G]

Starts N separate 'raftledger server' processes on 127.0.0.1, data in DIR/n0, DIR/n1, ...,
prints their addresses, and stops them all on Ctrl-C (SIGINT) or SIGTERM. Server logs go
to stderr prefixed with the server id.

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
    const dir = resolve(String(values.dir));
    mkdirSync(dir, { recursive: true });
    const cluster = new LocalCluster({
      dir,
      replicas: intOption(values, 'replicas', 3, 1, 15),
      basePort: intOption(values, 'base-port', 0, 0, 65000),
      durability: choiceOption(values, 'durability', ['fsync', 'memory'] as const, 'fsync'),
      groups: intOption(values, 'groups', 1, 1, 100_000),
      onLog: values.quiet === true ? undefined : (id, line) => process.stderr.write(`${id} | ${line}\n`),
    });
    const stopped = new Promise<void>((resolveStop) => {
      process.once('SIGINT', () => resolveStop());
      process.once('SIGTERM', () => resolveStop());
    });
    await cluster.start();
    process.stdout.write(`raftledger cluster: ${cluster.ids.length} replicas in ${dir}\n`);
    for (const s of cluster.servers.values()) process.stdout.write(`  ${s.id}  raft ${s.raft}  client ${s.client}  pid ${s.pid}\n`);
    process.stdout.write(`clients: --servers ${cluster.clientAddresses.join(',')}\nPress Ctrl-C to stop.\n`);
    await stopped;
    process.stdout.write('stopping...\n');
    await cluster.stop();
    return 0;
  },
};
