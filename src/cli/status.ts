import { connect } from '../client/index.js';
import { viewCluster } from './cluster-status.js';
import { intOption, parse, UsageError, wantsHelp, type Command } from './args.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show who leads, terms, indexes and follower lag of a running cluster',
  usage: `
Usage: raftledger status --servers HOST:PORT[,HOST:PORT...] [--group G] [--json]

Asks every listed server (client ports) for its status and prints one line per replica:
role, term, leader, first/last/commit/durable index, and on the leader each follower's
match index and lag.

Options:
  --servers LIST   client endpoints, comma-separated (required)
  --group G        Raft group (default 0)
  --json           print the raw status objects as JSON
  -h, --help       show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, { servers: { type: 'string' }, group: { type: 'string' }, json: { type: 'boolean' } }, false);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.servers === undefined) throw new UsageError('status needs --servers');
    const servers = String(values.servers).split(',').map((s) => s.trim()).filter((s) => s !== '');
    const group = intOption(values, 'group', 0, 0);
    const client = await connect({ servers, group, deadlineMs: 5000, requestTimeoutMs: 2000 });
    try {
      const views = await viewCluster(client, group);
      if (values.json === true) {
        process.stdout.write(`${JSON.stringify(views)}\n`);
      } else {
        for (const v of views) {
          if (v.error !== undefined) {
            process.stdout.write(`${v.server}  unreachable: ${v.error}\n`);
            continue;
          }
          process.stdout.write(
            `${v.server}  ${v.id}  ${v.role?.padEnd(12)} term ${v.term}  leader ${v.leader || '-'}  last ${v.lastIndex}  commit ${v.commitIndex}  durable ${v.durableIndex}\n`,
          );
          for (const [id, f] of Object.entries(v.followers ?? {})) process.stdout.write(`    follower ${id}: match ${f.match}, lag ${f.lag}\n`);
        }
      }
      return views.every((v) => v.error !== undefined) ? 1 : 0;
    } finally {
      await client.close();
    }
  },
};
