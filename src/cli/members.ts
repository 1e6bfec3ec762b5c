/** `raftledger members`: list and change a group's membership through the client port. */
import { connect } from '../client/index.js';
import { parse, intOption, UsageError, wantsHelp, type Command } from './args.js';

const ID = /^[A-Za-z0-9_.-]{1,64}$/;

export const membersCommand: Command = {
  name: 'members',
  summary: "list a group's voters and learners, add a learner, promote it, remove a member",
  usage: `
Usage: raftledger members --servers HOST:PORT[,...] [--group G] [--json] list
       raftledger members --servers LIST [--group G] add ID=RAFT_ADDR[/CLIENT_PORT|/CLIENT_ADDR] --learner
       raftledger members --servers LIST [--group G] promote ID
       raftledger members --servers LIST [--group G] remove ID [--force]

Membership changes are single-server changes (docs/RAFT.md, "Membership change"): a new
member joins as a learner (it receives the log but does not vote), is promoted to voter
once caught up, and a voter or learner is removed, one change at a time. Each change is
sent to the leader and returns once it is committed; the new configuration is printed.

  list      each voter and learner with its address (and, from the leader, its lag)
  add       add ID as a learner at RAFT_ADDR (host:port); its client port is CLIENT_PORT,
            or CLIENT_ADDR (host:port), or the Raft port + 100. Start the new server first
            (raftledger server --id ID --peers ALL --learners ID), then add it.
  promote   make learner ID a voter (refused while it is more than 1000 entries behind)
  remove    remove ID; the leader itself may be removed (it hands over and steps down).
            Refused when the voters that would remain and are connected to the leader are
            not a quorum of the new configuration, unless --force.

Options:
  --servers LIST   client endpoints, comma-separated (required)
  --group G        Raft group (default 0)
  --learner        with add: required (members always join as learners)
  --force          with remove: skip the quorum check
  --timeout-ms N   give up after N ms (default 30000)
  --json           print the configuration as JSON
  -h, --help       show this help

Errors: ERR_CONF_CHANGE_INVALID (already a member, not a learner, not a member, an address
in use, a quorum at risk), ERR_LEARNER_BEHIND, ERR_LAST_VOTER; ERR_CONF_CHANGE_IN_FLIGHT
and ERR_NOT_COMMITTED_IN_TERM are retried until the timeout.
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, {
      servers: { type: 'string' },
      group: { type: 'string' },
      learner: { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
    });
    if (values.servers === undefined) throw new UsageError('members needs --servers');
    const servers = String(values.servers).split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (servers.length === 0) throw new UsageError('--servers is empty');
    const group = intOption(values, 'group', 0, 0, 0xffff_ffff);
    const timeoutMs = intOption(values, 'timeout-ms', 30_000, 1);
    const [action, arg, ...extra] = positionals;
    if (action === undefined) throw new UsageError('members needs an action: list, add, promote or remove');
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const change = changeOf(action, arg, values);
    const client = await connect({ servers, group, deadlineMs: timeoutMs });
    try {
      const view = change === undefined ? await client.members() : await client.changeMembers(change);
      if (values.json === true) process.stdout.write(`${JSON.stringify(view)}\n`);
      else process.stdout.write(formatMembers(view));
      return 0;
    } finally {
      await client.close();
    }
  },
};

function changeOf(action: string, arg: string | undefined, values: Record<string, unknown>): Parameters<import('../client/index.js').Client['changeMembers']>[0] | undefined {
  const needId = (): string => {
    if (arg === undefined) throw new UsageError(`members ${action} needs a member id`);
    if (!ID.test(arg)) throw new UsageError(`member id '${arg}' must be 1-64 characters of letters, digits, '_', '.', '-'`);
    return arg;
  };
  if (values.learner === true && action !== 'add') throw new UsageError('--learner goes with add');
  if (values.force === true && action !== 'remove') throw new UsageError('--force goes with remove');
  switch (action) {
    case 'list':
      if (arg !== undefined) throw new UsageError(`unexpected argument '${arg}'`);
      return undefined;
    case 'add': {
      if (arg === undefined || !arg.includes('=')) throw new UsageError('members add needs ID=RAFT_ADDR[/CLIENT_PORT], e.g. n3=10.0.0.4:7000/7100');
      const eq = arg.indexOf('=');
      const id = arg.slice(0, eq);
      if (!ID.test(id)) throw new UsageError(`member id '${id}' must be 1-64 characters of letters, digits, '_', '.', '-'`);
      if (values.learner !== true) throw new UsageError('members add needs --learner: a member joins as a learner and is promoted once caught up');
      return { type: 'addLearner', id, address: arg.slice(eq + 1) };
    }
    case 'promote':
      return { type: 'promote', id: needId() };
    case 'remove':
      return { type: 'remove', id: needId(), ...(values.force === true ? { force: true } : {}) };
    default:
      throw new UsageError(`unknown action '${action}': expected list, add, promote or remove`);
  }
}

/** One line per member: 'voter n0 127.0.0.1:7000/7100 lag 0 active'. */
export function formatMembers(view: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const role of ['voters', 'learners'] as const) {
    const list = Array.isArray(view[role]) ? (view[role] as Array<Record<string, unknown>>) : [];
    for (const m of list) {
      const lag = typeof m.lag === 'number' ? `  lag ${m.lag}${m.active === false ? '  inactive' : ''}` : '';
      lines.push(`${role === 'voters' ? 'voter  ' : 'learner'}  ${String(m.id)}  ${m.address === '' ? '(address not known)' : String(m.address)}${lag}`);
    }
  }
  if (view.committed === false) lines.push(`(the change at index ${String(view.configIndex)} is not committed yet)`);
  return `${lines.join('\n')}\n`;
}
