/**
 * `raftledger server --join CLIENT_ADDRS --listen RAFT_ADDR[/CLIENT_PORT]` (no --peers): a
 * new server asks the running cluster (its client ports) for the configuration of every
 * group it will host and starts with their members as its peers and itself as a learner,
 * waiting to be added (`raftledger members add`). It adopts the cluster's uid (the client
 * hello, replica/cluster-id.ts) and stores it in its directory, so its peers accept it; a
 * cluster of another --cluster-id, or a directory of another cluster, is a start-up error.
 * With TLS (--tls-cert/--tls-key/--tls-ca) it connects to the client ports over TLS with
 * its own certificate as the client certificate; with --client-auth token it sends the
 * token of --client-token-file.
 */
import { connect, type Client } from '../client/index.js';
import { memberAddresses, type PeerAddresses } from '../replica/peers.js';
import { readTokenFile } from '../transport/tls.js';
import { CommandError, UsageError } from './args.js';

interface ViewMember {
  id: string;
  address: string;
}

/** How the joining server reaches the client ports: the server's own TLS files and token (config keys). */
export interface JoinSecurity {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  clientAuth?: string;
  clientTokenFile?: string;
}

function clientSecurity(s: JoinSecurity): { tls?: { ca: string; cert?: string; key?: string }; token?: string } {
  const out: { tls?: { ca: string; cert?: string; key?: string }; token?: string } = {};
  if (s.tlsCa !== undefined) out.tls = { ca: s.tlsCa, ...(s.tlsCert !== undefined && s.tlsKey !== undefined ? { cert: s.tlsCert, key: s.tlsKey } : {}) };
  if (s.clientAuth === 'token' && s.clientTokenFile !== undefined) out.token = readTokenFile(s.clientTokenFile).toString('utf8');
  return out;
}

export interface Joined {
  peers: Record<string, PeerAddresses>;
  learners: string[];
  /** The cluster's uid (the first server's client hello): stored in the new server's directory. */
  clusterUid: string;
}

export async function joinPeers(servers: string[], self: { id: string; listen: string }, clusterId: string, options: { groups?: number; security?: JoinSecurity } = {}): Promise<Joined> {
  const own = memberAddresses(self.listen);
  if (own === undefined) throw new UsageError(`--listen must be host:raftPort[/clientPort], got '${self.listen}'`);
  const groups = options.groups ?? 1;
  let client: Client;
  try {
    client = await connect({ servers, deadlineMs: 10_000, requestTimeoutMs: 5000, ...clientSecurity(options.security ?? {}) });
  } catch (error) {
    throw new CommandError(`--join: cannot reach any of ${servers.join(', ')}: ${(error as Error).message}`);
  }
  const views: Array<Record<string, unknown>> = [];
  try {
    for (let group = 0; group < groups; group++) {
      views.push(
        await client.members({ group }).catch((error: unknown) => {
          throw new CommandError(`--join: cannot read group ${group}'s configuration from ${servers.join(', ')}: ${(error as Error).message}`);
        }),
      );
    }
  } finally {
    await client.close();
  }
  for (const view of views) {
    if (typeof view.clusterId === 'string' && view.clusterId !== clusterId) {
      throw new CommandError(`--join: ${servers.join(', ')} belong to cluster '${view.clusterId}', this server is configured for '${clusterId}' (--cluster-id)`);
    }
  }
  const clusterUid = client.clusterUid;
  if (clusterUid === undefined) throw new CommandError(`--join: ${servers.join(', ')} did not report a cluster uid (servers older than this one?)`);
  // The peers: every member of any group (one transport serves them all); this server
  // starts as a learner unless every group already counts it as a voter.
  const peers: Record<string, PeerAddresses> = {};
  let voterEverywhere = true;
  views.forEach((view, group) => {
    const voters = (Array.isArray(view.voters) ? view.voters : []) as ViewMember[];
    const learners = (Array.isArray(view.learners) ? view.learners : []) as ViewMember[];
    if (!voters.some((m) => m.id === self.id)) voterEverywhere = false;
    for (const m of [...voters, ...learners]) {
      if (m.id === self.id || peers[m.id] !== undefined) continue;
      const a = memberAddresses(m.address);
      if (a === undefined) throw new CommandError(`--join: group ${group}'s configuration has no address for member ${m.id}; start this server with --peers instead`);
      if (a.raft === own.raft || a.client === own.client) throw new CommandError(`--join: --listen ${self.listen} is member ${m.id}'s address`);
      peers[m.id] = a;
    }
  });
  if (Object.keys(peers).length === 0) throw new CommandError('--join: the cluster answered with no members');
  peers[self.id] = own;
  return { peers, learners: voterEverywhere ? [] : [self.id], clusterUid };
}
