import { connect } from '../client/index.js';
import { viewCluster, type ReplicaView } from '../tools/cluster/cluster-status.js';
import { intOption, parse, UsageError, wantsHelp, type Command } from './args.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show who leads, terms, indexes and follower lag of a running cluster',
  usage: `
Usage: raftledger status --servers HOST:PORT[,HOST:PORT...] [--group G | --groups G] [--json]

Asks every listed server (client ports) for its status and prints one line per replica:
role, term, leader, first/last/commit/durable index, the first retained entry's pos and
the bytes the log takes on disk ('NO SPACE' while it refuses writes for low free space),
and on the leader the voters and learners of the configuration in force, and each
follower's match index, lag and whether it is in catch-up (it needs entries below the
leader's first index). With --groups G it does so for every group 0..G-1 (a 'group g:'
heading before each), or with --groups all for every group the servers answer for
(0, 1, ... until no server hosts the next one).

Options:
  --servers LIST   client endpoints, comma-separated (required)
  --group G        Raft group (default 0)
  --groups G|all   every group 0..G-1 (or all hosted groups)
  --json           print the raw status objects as JSON
  -h, --help       show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, { servers: { type: 'string' }, group: { type: 'string' }, groups: { type: 'string' }, json: { type: 'boolean' } }, false);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.servers === undefined) throw new UsageError('status needs --servers');
    const servers = String(values.servers).split(',').map((s) => s.trim()).filter((s) => s !== '');
    const group = intOption(values, 'group', 0, 0);
    const client = await connect({ servers, group, deadlineMs: 5000, requestTimeoutMs: 2000 });
    try {
      if (values.groups !== undefined) {
        const all = values.groups === 'all';
        const count = all ? Number.MAX_SAFE_INTEGER : intOption(values, 'groups', 1, 1);
        const out: Array<{ group: number; views: ReplicaView[] }> = [];
        for (let g = 0; g < count; g++) {
          const views = await viewCluster(client, g);
          // 'all': stop at the first group no server hosts.
          if (all && views.every((v) => v.error !== undefined)) break;
          out.push({ group: g, views });
          if (values.json !== true) {
            process.stdout.write(`group ${g}:\n`);
            printViews(views, '  ');
          }
        }
        if (values.json === true) process.stdout.write(`${JSON.stringify(out)}\n`);
        return out.length > 0 && out.every((o) => o.views.some((v) => v.error === undefined)) ? 0 : 1;
      }
      const views = await viewCluster(client, group);
      if (values.json === true) {
        process.stdout.write(`${JSON.stringify(views)}\n`);
      } else {
        printViews(views, '');
      }
      return views.every((v) => v.error !== undefined) ? 1 : 0;
    } finally {
      await client.close();
    }
  },
};

function printViews(views: ReplicaView[], indent: string): void {
  for (const v of views) {
    if (v.error !== undefined) {
      process.stdout.write(`${indent}${v.server}  unreachable: ${v.error}\n`);
      continue;
    }
    process.stdout.write(
      `${indent}${v.server}  ${v.id}  ${v.role?.padEnd(12)} term ${v.term}  leader ${v.leader || '-'}  first ${v.firstIndex}  last ${v.lastIndex}  commit ${v.commitIndex}  durable ${v.durableIndex}  firstPos ${v.firstPos}  disk ${v.diskBytes}${v.noSpace === true ? '  NO SPACE' : ''}\n`,
    );
    const m = v.members;
    if (m !== undefined && v.role === 'leader') {
      const ids = (list: Array<{ id: string }>): string => (list.length === 0 ? '-' : list.map((x) => x.id).join(','));
      process.stdout.write(`${indent}    members: voters ${ids(m.voters)}  learners ${ids(m.learners)}${m.committed === false ? '  (change not committed yet)' : ''}\n`);
    }
    for (const [id, f] of Object.entries(v.followers ?? {})) {
      const learner = m?.learners.some((x) => x.id === id) === true ? ' (learner)' : '';
      process.stdout.write(`${indent}    follower ${id}${learner}: match ${f.match}, lag ${f.lag}${f.catchUp === true ? ', catch-up (needs entries below the first index)' : ''}\n`);
    }
  }
}
