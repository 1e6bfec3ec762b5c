/**
 * `raftledger server --join CLIENT_ADDRS --listen RAFT_ADDR[/CLIENT_PORT]` (no --peers): a
 * new server asks the running cluster for its configuration (group 0, through the client
 * port) and starts with it as its peers and itself as a learner, waiting to be added
 * (`raftledger members add`). A cluster of another cluster id is a start-up error.
 */
import { connect } from '../client/index.js';
import { memberAddresses, type PeerAddresses } from '../replica/peers.js';
import { CommandError, UsageError } from './args.js';

interface ViewMember {
  id: string;
  address: string;
}

export async function joinPeers(servers: string[], self: { id: string; listen: string }, clusterId: string): Promise<{ peers: Record<string, PeerAddresses>; learners: string[] }> {
  const own = memberAddresses(self.listen);
  if (own === undefined) throw new UsageError(`--listen must be host:raftPort[/clientPort], got '${self.listen}'`);
  const client = await connect({ servers, deadlineMs: 10_000, requestTimeoutMs: 5000 }).catch((error: unknown) => {
    throw new CommandError(`--join: cannot reach any of ${servers.join(', ')}: ${(error as Error).message}`);
  });
  let view: Record<string, unknown>;
  try {
    view = await client.members();
  } finally {
    await client.close();
  }
  if (typeof view.clusterId === 'string' && view.clusterId !== clusterId) {
    throw new CommandError(`--join: ${servers.join(', ')} belong to cluster '${view.clusterId}', this server is configured for '${clusterId}' (--cluster-id)`);
  }
  const voters = (Array.isArray(view.voters) ? view.voters : []) as ViewMember[];
  const learners = (Array.isArray(view.learners) ? view.learners : []) as ViewMember[];
  const peers: Record<string, PeerAddresses> = {};
  for (const m of [...voters, ...learners]) {
    if (m.id === self.id) continue;
    const a = memberAddresses(m.address);
    if (a === undefined) throw new CommandError(`--join: the cluster's configuration has no address for member ${m.id}; start this server with --peers instead`);
    if (a.raft === own.raft || a.client === own.client) throw new CommandError(`--join: --listen ${self.listen} is member ${m.id}'s address`);
    peers[m.id] = a;
  }
  if (Object.keys(peers).length === 0) throw new CommandError('--join: the cluster answered with no members');
  peers[self.id] = own;
  return { peers, learners: voters.some((m) => m.id === self.id) ? [] : [self.id] };
}
