/**
 * A replica's side of membership change (docs/RAFT.md, "Membership change"): the core
 * decides; this module
 *
 *  - gives the core its starting configuration: the one stored beside the log
 *    (conf-file.ts) when there is one, else the bootstrap members with their addresses;
 *  - keeps the stored configuration current: it is saved before the first Config entry is
 *    written to the log, at every commit that changes the committed configuration, and
 *    before a log reset replaces the log (so retention and log starts never lose it);
 *  - tells the link (the transport) whom to reach: every member of the configuration in
 *    force and of the committed one (a removed member keeps its link until its removal
 *    commits), and learns the client addresses of new members for leader hints;
 *  - turns the API's change requests into core proposals and the core's refusals into
 *    RaftLedgerErrors with the same codes.
 */
import { RaftLedgerError } from '../errors.js';
import { EntryType, RaftRefusal, decodeConfiguration, encodeConfiguration, isVoter, type Configuration, type Entry, type LogReset, type Member, type RaftConfig, type RaftCore } from '../raft/index.js';
import { readStoredConfiguration, saveStoredConfiguration } from './conf-file.js';
import { checkMemberAddress, formatMemberAddress, ID_PATTERN, memberAddresses, type PeerAddresses } from './peers.js';
import type { LedgerCoreOptions, RaftLink } from './ledger-types.js';
import { PreferredLeader, preferredLeaderOf } from './preferred-leader.js';
import { DEFAULT_CLUSTER_ID } from './group-set.js';

/** What Ledger.members() returns: the configuration in force on this replica. */
export interface MembersView {
  voters: MemberView[];
  learners: MemberView[];
  /** Index of the newest Config entry in this replica's log (0: none), and whether it is committed. */
  configIndex: number;
  committed: boolean;
  /** The cluster id stored in this replica's directory (a server joining with --join checks it). */
  clusterId: string;
  /** The node's cluster uid (cluster-id.ts; '' for a replica without a transport of its own). */
  clusterUid: string;
}

export interface MemberView {
  id: string;
  /** 'host:raftPort/clientPort' ('' when not known: a member given without addresses). */
  address: string;
  /** On the leader: entries the member's log is behind this one's (0 for the leader itself). */
  lag?: number;
  /** On the leader: the member is connected to it (without a transport: answered within the last election timeout). */
  active?: boolean;
}

/** A change request (Ledger.addLearner/promote/removeMember). */
export interface MemberChange {
  type: 'addLearner' | 'promote' | 'remove';
  id: string;
  address?: string;
  /** remove: go ahead even though the voters that remain and are up are not a quorum of the new configuration. */
  force?: boolean;
}

/** The core's membership options for a replica whose log is in `dir`. */
export function coreMembership(dir: string, o: { id: string; members: readonly string[]; learners?: readonly string[] | undefined; memberAddresses?: Readonly<Record<string, string>> | undefined }): { stored: boolean; config: Pick<RaftConfig, 'learners' | 'configuration' | 'configurationIndex' | 'recoverConfig'> } {
  const learners = o.learners ?? [];
  const stored = readStoredConfiguration(dir);
  if (stored !== undefined) {
    // A log with a stored configuration may hold Config entries after it: read them once.
    return { stored: true, config: { learners, configuration: stored.body, configurationIndex: stored.index, recoverConfig: true } };
  }
  const addresses = o.memberAddresses ?? {};
  const member = (id: string): Member => ({ id, address: addresses[id] ?? '' });
  const hasAddresses = Object.keys(addresses).length > 0;
  // No stored file: the log holds no Config entry (conf-file.ts), so no scan.
  return { stored: false, config: { learners, ...(hasAddresses ? { configuration: encodeConfiguration({ voters: o.members.map(member), learners: learners.map(member) }) } : {}) } };
}

export interface MembershipDeps {
  id: string;
  dir: string;
  core: RaftCore;
  link: RaftLink;
  /** Mutable: client addresses of new members are added for leader hints. */
  clientAddresses: Record<string, string>;
  lastIndex(): number;
  logLine(line: string): void;
  notLeader(): RaftLedgerError;
}

/** The stored index is moved up (same configuration) once the commit index passed it by this many entries, so a start reads at most this many entries for Config entries. */
export const RESAVE_EVERY_ENTRIES = 100_000;
/** Removed ids remembered for idempotent retries of a removal. */
const MAX_REMOVED = 64;

const REFUSALS = new Set(['ERR_CONF_CHANGE_IN_FLIGHT', 'ERR_NOT_COMMITTED_IN_TERM', 'ERR_LEARNER_BEHIND', 'ERR_LAST_VOTER', 'ERR_CONF_CHANGE_INVALID', 'ERR_TRANSFER_IN_PROGRESS'] as const);

export class ReplicaMembership {
  readonly #d: MembershipDeps;
  #stored: boolean;
  #linked: Configuration | null = null;
  #linkedCommitted: Configuration | null = null;
  #savedCommitted: Configuration | null = null;
  #savedIndex = 0;
  readonly #preferred: PreferredLeader;
  readonly #clusterId: string;
  readonly #clusterUid: string;
  /** Ids the committed configuration lost while this replica ran (newest last, at most MAX_REMOVED): a retried removal of one succeeds. */
  readonly #removed: string[] = [];
  #lastCommitted: Configuration | null = null;

  /** `options`: the Ledger's (configured members, checked against a stored configuration; the preferred leader). */
  constructor(deps: MembershipDeps, stored: boolean, options: Pick<LedgerCoreOptions, 'members' | 'learners' | 'group' | 'preferredLeader' | 'clusterId' | 'clusterUid'>) {
    this.#d = deps;
    this.#stored = stored;
    this.#clusterId = options.clusterId ?? DEFAULT_CLUSTER_ID;
    this.#clusterUid = options.clusterUid ?? '';
    this.#preferred = new PreferredLeader(deps.id, preferredLeaderOf(options.preferredLeader, options.group ?? 0), deps.core, deps.logLine);
    if (!stored) return;
    this.#savedCommitted = deps.core.membership.committedAt(deps.core.commitIndex);
    this.#savedIndex = deps.core.commitIndex;
    const c = deps.core.membership.current;
    const problem = flagsProblem(deps.id, c, options.members, options.learners ?? []);
    if (problem !== undefined) deps.logLine(`[${deps.id}] membership: WARNING the stored configuration (${describeConfiguration(c)}) wins over the configured members: ${problem}`);
  }

  /**
   * Before a Ready's entries are written (and its messages sent): the stored file must exist
   * before the log holds a Config entry, and a new member's link before the first message to it.
   */
  beforeWrite(entries: readonly Entry[]): void {
    if (!entries.some((e) => e.type === EntryType.Config)) return;
    const core = this.#d.core;
    if (!this.#stored) this.#save(core.commitIndex, core.membership.committedAt(core.commitIndex));
    this.#syncLink(core.membership.committedAt(core.commitIndex));
  }

  /** Before a log reset replaces the log: store the configuration the leader sent with it. */
  beforeReset(reset: LogReset): void {
    const core = this.#d.core;
    const body = reset.conf ?? encodeConfiguration(core.membership.committedAt(core.commitIndex));
    saveStoredConfiguration(this.#d.dir, { index: reset.at.index, body });
    this.#stored = true;
    this.#savedCommitted = null; // saved again (same content) at the next commit: harmless
  }

  /** After a Ready: save a newly committed configuration, update the link's peers, move leadership to the preferred leader. */
  afterReady(commitIndex: number): void {
    this.#preferred.check(Date.now());
    const m = this.#d.core.membership;
    const committed = m.committedAt(commitIndex);
    this.#noteRemovals(committed);
    if (this.#stored && (committed !== this.#savedCommitted || commitIndex - this.#savedIndex >= RESAVE_EVERY_ENTRIES)) this.#save(commitIndex, committed);
    this.#syncLink(committed);
  }

  #noteRemovals(committed: Configuration): void {
    const before = this.#lastCommitted;
    this.#lastCommitted = committed;
    if (before === null || before === committed) return;
    const ids = (c: Configuration): string[] => [...c.voters, ...c.learners].map((x) => x.id);
    const now = new Set(ids(committed));
    for (const id of ids(before)) if (!now.has(id)) this.#removed.push(id);
    if (this.#removed.length > MAX_REMOVED) this.#removed.splice(0, this.#removed.length - MAX_REMOVED);
  }

  /** The link reaches every member of the configuration in force and of `committed` (membership.ts header). */
  #syncLink(committed: Configuration): void {
    const current = this.#d.core.membership.current;
    if (current === this.#linked && committed === this.#linkedCommitted) return;
    this.#linked = current;
    this.#linkedCommitted = committed;
    const reach = new Map<string, Member>();
    for (const c of [committed, current]) for (const x of [...c.voters, ...c.learners]) if (x.id !== this.#d.id) reach.set(x.id, x);
    for (const x of reach.values()) {
      const a = memberAddresses(x.address);
      if (a !== undefined && this.#d.clientAddresses[x.id] === undefined) this.#d.clientAddresses[x.id] = a.client;
    }
    const clients = this.#d.link.setMembers?.([...reach.values()]);
    if (clients !== undefined) Object.assign(this.#d.clientAddresses, clients);
  }

  #save(index: number, conf: Configuration): void {
    saveStoredConfiguration(this.#d.dir, { index, body: encodeConfiguration(conf) });
    this.#stored = true;
    const changed = conf !== this.#savedCommitted;
    this.#savedCommitted = conf;
    this.#savedIndex = index;
    if (changed) this.#d.logLine(`[${this.#d.id}] membership: stored configuration at index ${index}: ${describeConfiguration(conf)}`);
  }

  view(): MembersView {
    const core = this.#d.core;
    const m = core.membership;
    const progress = core.role === 'leader' ? core.status().progress : {};
    const last = this.#d.lastIndex();
    const isUp = this.#upTest();
    const one = (x: Member): MemberView => {
      const v: MemberView = { id: x.id, address: x.address };
      if (core.role !== 'leader') return v;
      return { ...v, lag: x.id === this.#d.id ? 0 : Math.max(0, last - (progress[x.id]?.match ?? 0)), active: isUp(x.id) };
    };
    const c = m.current;
    return { voters: c.voters.map(one), learners: c.learners.map(one), configIndex: m.pendingIndex, committed: m.pendingIndex <= core.commitIndex, clusterId: this.#clusterId, clusterUid: this.#clusterUid };
  }

  /**
   * Propose `change` (leader only); returns the Config entry's index and term, or null when
   * the change is already what the committed configuration says (a retry after a lost
   * answer: the same id, address and role), which succeeds without a new entry. Throws the
   * RaftLedgerError to give the caller.
   */
  propose(change: MemberChange): { index: number; term: number } | null {
    const core = this.#d.core;
    checkChange(change);
    // Stored in the canonical form 'host:raftPort/clientPort' (peers.ts formatMemberAddress).
    if (change.type === 'addLearner') change = { ...change, address: formatMemberAddress(this.#checkNewAddress(change.id, change.address!)) };
    if (core.role === 'leader' && inForce(core.membership.current, this.#removed, change)) {
      // Until the entry that made it so commits, the answer is the retriable "in flight".
      if (core.membership.pendingIndex > core.commitIndex) throw new RaftLedgerError('ERR_CONF_CHANGE_IN_FLIGHT', `${change.type} ${change.id}: the change is in the log, not committed yet`, { retriable: true });
      this.#d.logLine(`[${this.#d.id}] membership: ${change.type} ${change.id} is already in force (a retry): nothing proposed`);
      return null;
    }
    if (change.type === 'remove' && change.force !== true && core.role === 'leader') this.#checkQuorumAfterRemoval(change.id);
    try {
      const index = core.proposeConfChange({ type: change.type, id: change.id, ...(change.address !== undefined ? { address: change.address } : {}) });
      this.#d.logLine(`[${this.#d.id}] membership: proposed ${change.type} ${change.id}${change.address !== undefined ? ` at ${change.address}` : ''} at index ${index}`);
      return { index, term: core.term };
    } catch (error) {
      if (!(error instanceof RaftRefusal)) throw error;
      if (error.code === 'ERR_NOT_LEADER') throw this.#d.notLeader();
      const code = REFUSALS.has(error.code as never) ? (error.code as ErrorCodeOf<typeof REFUSALS>) : 'ERR_CONF_CHANGE_INVALID';
      throw new RaftLedgerError(code, error.message.replace(/^raft: /, ''), { cause: error, retriable: error.retriable });
    }
  }

  /** Up: this node, or connected to it (a transport link), else (no transport) answered within the last election timeout. */
  #upTest(): (id: string) => boolean {
    const peers = this.#d.link.transportStats?.().peers;
    const progress = this.#d.core.status().progress;
    return (id) => id === this.#d.id || (peers !== undefined ? peers[id]?.connected === true : progress[id]?.recentActive === true);
  }

  /** Two members with one address would be one process answering as two: refused. */
  #checkNewAddress(id: string, address: string): PeerAddresses {
    const a = checkMemberAddress(`addLearner ${id}`, address);
    const c = this.#d.core.membership.current;
    for (const x of [...c.voters, ...c.learners]) {
      const b = memberAddresses(x.address);
      if (b === undefined || x.id === id) continue;
      if (b.raft === a.raft || b.client === a.client || b.raft === a.client || b.client === a.raft) {
        throw new RaftLedgerError('ERR_CONF_CHANGE_INVALID', `addLearner ${id}: address ${address} is already used by member ${x.id} (${x.address})`);
      }
    }
    return a;
  }

  /** The rule for removing a voter: the voters that remain and are up (recently answered) must be a quorum of the new configuration, unless forced. */
  #checkQuorumAfterRemoval(id: string): void {
    const core = this.#d.core;
    const c = core.membership.current;
    if (!isVoter(c, id)) return;
    const remaining = c.voters.filter((v) => v.id !== id);
    const isUp = this.#upTest();
    const up = remaining.filter((v) => isUp(v.id)).length;
    const quorum = Math.floor(remaining.length / 2) + 1;
    if (up < quorum) {
      throw new RaftLedgerError(
        'ERR_CONF_CHANGE_INVALID',
        `remove ${id}: only ${up} of the ${remaining.length} voters that would remain are up, fewer than their quorum of ${quorum}: the group could not commit after the change. Bring members up first, or force it`,
      );
    }
  }
}

type ErrorCodeOf<S> = S extends Set<infer C> ? C : never;

/**
 * The configuration already is what `change` asks for (the answer to a retry is success):
 * the learner at that address, the voter; for a removal only when this replica saw the id
 * leave the committed configuration (`removed`), so that removing an id that never was a
 * member stays an error.
 */
function inForce(c: Configuration, removed: readonly string[], change: MemberChange): boolean {
  const has = (role: 'voters' | 'learners'): Member | undefined => c[role].find((m) => m.id === change.id);
  if (change.type === 'addLearner') return has('learners')?.address === change.address;
  if (change.type === 'promote') return has('voters') !== undefined;
  return has('voters') === undefined && has('learners') === undefined && removed.includes(change.id);
}

function checkChange(change: MemberChange): void {
  if (change === null || typeof change !== 'object') throw new TypeError('membership change must be an object');
  if (typeof change.id !== 'string' || !ID_PATTERN.test(change.id)) throw new TypeError(`member id must be 1-64 characters of letters, digits, '_', '.', '-', got ${JSON.stringify(change.id)}`);
  if (change.type === 'addLearner' && typeof change.address !== 'string') throw new TypeError('addLearner: address must be a string host:raftPort[/clientPort]');
}

/** 'voters a,b learners c' (for log lines and errors). */
export function describeConfiguration(c: Configuration): string {
  const ids = (ms: readonly Member[]): string => (ms.length === 0 ? '-' : ms.map((x) => x.id).join(','));
  return `voters ${ids(c.voters)} learners ${ids(c.learners)}`;
}

/** The configuration of a stored body (for checks against flags). */
export function storedConfiguration(body: Uint8Array): Configuration {
  return decodeConfiguration(body);
}

/** Run `change` on a Ledger (the same call for the server's router and a host's shard). */
export function applyMemberChange(ledger: { addLearner(id: string, address: string): Promise<void>; promote(id: string): Promise<void>; removeMember(id: string, options: { force?: boolean }): Promise<void> }, change: MemberChange): Promise<void> {
  if (change.type === 'addLearner') return ledger.addLearner(change.id, change.address ?? '');
  if (change.type === 'promote') return ledger.promote(change.id);
  if (change.type === 'remove') return ledger.removeMember(change.id, { force: change.force === true });
  return Promise.reject(new TypeError(`unknown membership change ${JSON.stringify((change as { type?: unknown }).type)}`));
}

/** How the configured members (flags) differ from the configuration in force, or undefined when they agree. */
export function flagsProblem(self: string, c: Configuration, voters: readonly string[], learners: readonly string[]): string | undefined {
  const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
  if (![...c.voters, ...c.learners].some((m) => m.id === self)) return `this node (${self}) is not a member any more (it was removed); it takes no part until it is added again`;
  const v = c.voters.map((m) => m.id);
  const l = c.learners.map((m) => m.id);
  if (sameSet(v, voters) && sameSet(l, learners)) return undefined;
  return `they name voters ${voters.join(',') || '-'} learners ${learners.join(',') || '-'}; update --peers/--learners to match`;
}
