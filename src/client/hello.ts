/**
 * The client's side of the client hello (op 32, transport/member-codec.ts): every new
 * connection asks the server who it is before anything else is written, so a client never
 * mixes answers from two clusters. The first server that answers fixes the cluster uid
 * (unless connect({ clusterUid }) gave it); a server of another uid (or another name, when
 * connect({ clusterId }) gave one) fails with ERR_CLUSTER_MISMATCH, not retried.
 * An endpoint that reports no uid (a bare ClientListener over Ledgers with no transport of
 * their own) is accepted unless a uid was given. The cost is one round trip per connection,
 * none per request.
 */
import type { WireHello } from '../transport/client-codec.js';
import { AttemptFailure } from './errors.js';

export class ClusterCheck {
  #uid: string | undefined;
  #source: string;
  readonly #name: string | undefined;

  constructor(options: { clusterUid?: string | undefined; clusterId?: string | undefined }) {
    this.#uid = options.clusterUid;
    this.#source = 'connect({ clusterUid })';
    this.#name = options.clusterId;
  }

  /** The cluster uid this client talks to (undefined before a server answered, unless given). */
  get uid(): string | undefined {
    return this.#uid;
  }

  /** undefined when `address` may be used; else the failure that ends its connection. */
  check(info: WireHello, address: string): AttemptFailure | undefined {
    const who = `server ${address}${info.serverId !== '' ? ` (${info.serverId})` : ''}`;
    if (this.#name !== undefined && info.clusterId !== this.#name) {
      return new AttemptFailure('cluster', address, false, `${who} belongs to cluster "${info.clusterId}", not "${this.#name}" (connect({ clusterId }))`);
    }
    if (info.clusterUid === '') {
      if (this.#uid === undefined || this.#source !== 'connect({ clusterUid })') return undefined;
      return new AttemptFailure('cluster', address, false, `${who} does not report a cluster uid; this client is for cluster ${this.#uid} (connect({ clusterUid }))`);
    }
    if (this.#uid === undefined) {
      this.#uid = info.clusterUid;
      this.#source = `the first server, ${address}`;
      return undefined;
    }
    if (info.clusterUid === this.#uid) return undefined;
    return new AttemptFailure(
      'cluster',
      address,
      false,
      `${who} belongs to cluster ${info.clusterUid} ("${info.clusterId}"), this client to cluster ${this.#uid} (from ${this.#source}): refusing to mix answers of two clusters (check the server list)`,
    );
  }
}
