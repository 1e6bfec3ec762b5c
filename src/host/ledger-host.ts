/**
 * LedgerHost: many Raft groups of one node, spread over piscina worker threads.
 *
 * - Placement (placement.ts): group g -> worker g mod W on every node; worker w listens on
 *   raftPort + w and talks only to worker w of the other nodes. workers: 0 runs every group
 *   on the calling thread (one GroupShard on the node's Raft port, the same wire).
 * - Pool: piscina with minThreads = maxThreads = W, concurrentTasksPerWorker 1,
 *   atomics 'disabled' (idle workers keep their event loop for sockets and timers), and ONE
 *   long-lived task per worker (worker.ts) that gets a MessagePort and resolves at shutdown.
 * - Calls to one worker in one event-loop turn travel as one message (channel.ts); payloads
 *   are moved, not cloned (payloads.ts); errors cross as plain objects and are rebuilt as
 *   RaftLedgerError (protocol.ts).
 * - Startup check (startupCheck 'verify' | 'repair'): before any group opens, every group's
 *   log gets the server's startup check (checkLogAtStartup: recovery plus a full CRC
 *   verify), as short piscina tasks spread over the worker threads (on the calling thread
 *   with workers: 0). A damaged log fails open() with ERR_LOG_CORRUPT unless repairing.
 * - A worker that throws or exits is reported ('workerExit' event and a log line naming its
 *   groups); calls waiting on it reject with ERR_UNAVAILABLE (retriable); it is restarted
 *   (backoff 100 ms doubling to 5 s while restarts keep failing) and its groups reopen from
 *   disk ('workerRestart'). Calls made while it restarts reject with ERR_UNAVAILABLE too.
 * - Workers run host/worker.ts (only the host's calls) unless the owner passes its own task
 *   file (HostInternals.workerModule, internal.ts): the server's adds a client listener per
 *   worker (src/server/worker.ts), so this layer never depends on the server.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { fromWireError, isRaftLedgerError, RaftLedgerError } from '../errors.js';
import { loadTlsPem, type ReloadMaterial } from '../transport/tls.js';
import type { Ledger } from '../replica/ledger.js';
import { groupTuningOf } from '../replica/ledger-types.js';
import type { LedgerEntry } from '../entry.js';
import type { AppendAck } from '../replica/pending.js';
import { formatMemberAddress, normalizePeers, type PeersInput } from '../replica/peers.js';
import { WorkerChannel } from './channel.js';
import { checkGroup, toEntry, type HostAppendOptions, type HostStatus, type LedgerHostEvents, type LedgerHostOptions, type WorkerInfo } from './host-types.js';
import { GroupShard, type ShardConfig } from './shard.js';
import { checkClusterPortPlan, workerClientAddress, workerClusterId, workerFor, workerRaftAddress } from './placement.js';
import type { AttachmentStats, GroupStatus, HostOp, HostRequest, HostResponses, TransferredEntry } from './protocol.js';
import { HostReloads, type StagedReload } from './host-reload.js';
import type { CheckResult, CheckTask, WorkerTask } from './worker.js';
import { checkLogAtStartup } from '../storage/startup-check.js';
import type { DamagedRange } from '../storage/index.js';
import { DEFAULT_CLUSTER_ID, groupDir } from '../replica/group-set.js';
import { crashWorker, type HostInternals } from './internal.js';
import { DirLock } from '../storage/dir-lock.js';
import { checkDirOwner } from '../storage/identity.js';
import { nodeClusterUid } from './host-cluster-uid.js';
import { checkReadOptions, type Consistency } from '../replica/read-gate.js';
import type { MemberChange, MembersView } from '../replica/membership.js';

const WORKER_FILE = new URL('./worker.js', import.meta.url).href;

export type { LedgerHostOptions, HostAppendOptions, WorkerInfo, HostStatus, WorkerExitInfo, LedgerHostEvents } from './host-types.js';

interface Backend {
  call<K extends HostOp>(req: HostRequest<K>, transfer?: boolean): Promise<HostResponses[K]>;
}

interface Slot {
  index: number;
  channel: WorkerChannel | undefined;
  state: WorkerInfo['state'];
  threadId: number;
  restarts: number;
  failuresInRow: number;
  task: Promise<unknown> | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class LedgerHost extends EventEmitter<LedgerHostEvents> {
  readonly id: string;
  readonly workers: number;
  readonly #options: LedgerHostOptions;
  readonly #internals: HostInternals;
  readonly #groups = new Set<number>();
  readonly #log: (line: string) => void;
  readonly #slots: Slot[] = [];
  #pool: Piscina | undefined;
  #local: GroupShard | undefined;
  #opened = false;
  #closing: Promise<void> | undefined;
  #dirLock: DirLock | undefined; // [dir-lock] the node directory's, from open() to the end of close()
  /** The node's cluster uid (replica/cluster-id.ts), resolved at open before any group opens. */
  clusterUid = '';
  /** Damaged ranges per group from the startup check, repaired from peers when the group opens (issue 16). */
  readonly #startupDamage: Record<number, DamagedRange[]> = {};
  readonly #reloads = new HostReloads();

  private constructor(options: LedgerHostOptions, internals: HostInternals, groups: number[]) {
    super();
    this.id = options.id;
    this.workers = options.workers;
    this.#options = options;
    this.#internals = internals;
    for (const g of groups) this.#groups.add(g);
    this.#log = options.log ?? (() => {});
  }

  /** `internals`: what the server (src/server) sets up beyond the options; see internal.ts. */
  static async open(input: LedgerHostOptions<PeersInput>, internals: HostInternals = {}): Promise<LedgerHost> {
    if (input === null || typeof input !== 'object') throw new TypeError('LedgerHost.open: options must be an object');
    const options: LedgerHostOptions = { ...input, peers: normalizePeers(input.peers) };
    if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError('LedgerHost.open: dir must be a non-empty string');
    if (typeof options.id !== 'string' || options.peers?.[options.id] === undefined) throw new RangeError('LedgerHost.open: peers must include id');
    if (!Number.isInteger(options.workers) || options.workers < 0 || options.workers > 256) throw new RangeError('LedgerHost.open: workers must be an integer in [0, 256]');
    let groups: number[];
    if (typeof options.groups === 'number') {
      if (!Number.isInteger(options.groups) || options.groups < 1) throw new RangeError('LedgerHost.open: groups must be a positive integer or a list of group ids');
      groups = Array.from({ length: options.groups }, (_, i) => i);
    } else if (Array.isArray(options.groups)) {
      groups = options.groups.map((g) => checkGroup(g, 'LedgerHost.open'));
    } else throw new TypeError('LedgerHost.open: groups must be a count or a list of group ids');
    if (internals.workerClientPorts === true && options.workers === 0) throw new RangeError('LedgerHost.open: workerClientPorts needs workers > 0');
    if (internals.workerClientPorts === true && internals.workerModule === undefined) throw new RangeError('LedgerHost.open: workerClientPorts needs a workerModule that serves them');
    if (internals.onFlushed !== undefined && options.workers !== 0) throw new RangeError('LedgerHost.open: onFlushed needs workers: 0');
    checkClusterPortPlan(options.peers, options.workers, internals.workerClientPorts === true);
    const startupCheck = options.startupCheck ?? 'none';
    if (startupCheck !== 'none' && startupCheck !== 'verify' && startupCheck !== 'repair') {
      throw new RangeError(`LedgerHost.open: startupCheck must be 'none', 'verify' or 'repair', got ${JSON.stringify(startupCheck)}`);
    }
    const host = new LedgerHost(options, internals, groups);
    // Read once here: every thread's transport (and worker attachment) starts from these bytes.
    host.#reloads.material = internals.material ?? (options.tls !== undefined ? { tls: loadTlsPem(options.tls) } : undefined);
    try {
      host.#dirLock = DirLock.acquire(options.dir); // [dir-lock] before anything touches the directory
      for (const g of groups) checkDirOwner(groupDir(options.dir, g), { nodeId: options.id, clusterId: options.clusterId ?? DEFAULT_CLUSTER_ID, group: g });
      host.clusterUid = nodeClusterUid(options, groups, host.#log);
      if (options.workers === 0) {
        if (startupCheck !== 'none') {
          const started = Date.now();
          for (const g of groups) {
            const damaged = await checkLogAtStartup(groupDir(options.dir, g), startupCheck === 'repair', (line) => host.#log(`[${options.id}] group ${g}: ${line}`));
            if (damaged !== undefined) host.#startupDamage[g] = damaged;
          }
          host.#log(`[${options.id}] startup check of ${groups.length} group log(s) on the calling thread took ${Date.now() - started} ms`);
        }
        host.#local = await GroupShard.open(host.#shardConfig(0), host.#log, internals.onFlushed !== undefined ? { onFlushed: internals.onFlushed } : {});
      } else {
        host.#pool = new Piscina({
          filename: internals.workerModule ?? WORKER_FILE,
          minThreads: options.workers,
          maxThreads: options.workers,
          concurrentTasksPerWorker: 1,
          atomics: 'disabled',
          idleTimeout: Number.POSITIVE_INFINITY,
        });
        if (startupCheck !== 'none') await host.#checkLogsOnWorkers(groups, startupCheck === 'repair');
        for (let w = 0; w < options.workers; w++) {
          host.#slots.push({ index: w, channel: undefined, state: 'starting', threadId: -1, restarts: 0, failuresInRow: 0, task: undefined, timer: undefined });
        }
        await Promise.all(host.#slots.map((s) => host.#startWorker(s)));
      }
      host.#opened = true;
    } catch (error) {
      await host.close();
      throw error;
    }
    return host;
  }

  /** The startup check of every group as short pool tasks (W at a time); the first damaged group (by id) fails open(). */
  async #checkLogsOnWorkers(groups: readonly number[], repair: boolean): Promise<void> {
    const pool = this.#pool!;
    const o = this.#options;
    const started = Date.now();
    const results = await Promise.all(
      groups.map(async (g) => {
        const task: CheckTask = { dir: groupDir(o.dir, g), repair };
        const r: CheckResult = await pool.run(task, { name: 'checkGroupLog' });
        for (const line of r.lines) this.#log(`[${o.id}] group ${g} (thread ${r.threadId}): ${line}`);
        if (r.damaged !== undefined) this.#startupDamage[g] = r.damaged;
        return { group: g, result: r };
      }),
    );
    const threads = new Set(results.map((r) => r.result.threadId));
    this.#log(`[${o.id}] startup check of ${groups.length} group log(s) on ${threads.size} worker thread(s) (${[...threads].join(',')}) took ${Date.now() - started} ms`);
    const failed = results.filter((r) => r.result.error !== undefined).sort((a, b) => a.group - b.group)[0];
    const error = failed?.result.error;
    if (failed !== undefined && error !== undefined) {
      const e = fromWireError(error);
      e.message = `group ${failed.group}: ${e.message}`;
      throw e;
    }
  }

  #shardConfig(worker: number): ShardConfig {
    const o = this.#options;
    const W = o.workers;
    const clientAddresses: Record<string, string> = {};
    const peers: Record<string, string> = {};
    const perWorkerClients = this.#internals.workerClientPorts === true && W > 0;
    for (const [id, p] of Object.entries(o.peers)) {
      clientAddresses[id] = perWorkerClients ? workerClientAddress(p.client, worker) : p.client;
      if (id !== o.id) peers[id] = workerRaftAddress(p.raft, worker);
    }
    const memberAddresses: Record<string, string> = {};
    for (const [id, p] of Object.entries(o.peers)) memberAddresses[id] = formatMemberAddress(p);
    const config: ShardConfig = {
      dir: o.dir,
      id: o.id,
      members: Object.keys(o.peers).filter((id) => o.learners?.includes(id) !== true),
      ...(o.learners !== undefined ? { learners: [...o.learners] } : {}),
      memberAddresses,
      ...(perWorkerClients ? { workerClientPorts: true } : {}),
      clientAddresses,
      listen: workerRaftAddress(o.peers[o.id]!.raft, worker),
      peers,
      clusterId: workerClusterId(o.clusterId ?? DEFAULT_CLUSTER_ID, worker, W),
      clusterUid: this.clusterUid,
      dirClusterId: o.clusterId ?? DEFAULT_CLUSTER_ID,
      durability: o.durability ?? 'fsync',
      worker,
      groups: [...this.#groups].filter((g) => workerFor(g, W) === worker).sort((a, b) => a - b),
      ...groupTuningOf(o),
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
      ...(this.#reloads.material !== undefined ? { material: this.#reloads.material } : {}),
    };
    for (const g of config.groups) if (this.#startupDamage[g] !== undefined) (config.startupDamage ??= {})[g] = this.#startupDamage[g]!;
    if (perWorkerClients) {
      const nodeClient = o.peers[o.id]!.client;
      config.clients = { listen: workerClientAddress(nodeClient, worker), nodeClient, workers: W, ...(this.#internals.clientListenerOptions !== undefined ? { listenerOptions: this.#internals.clientListenerOptions } : {}) };
    }
    return config;
  }

  /** Run one long-lived task for slot `slot`; resolves once its shard is open. */
  #startWorker(slot: Slot): Promise<void> {
    const pool = this.#pool!;
    const { port1, port2 } = new MessageChannel();
    const config = this.#shardConfig(slot.index);
    const generation = this.#reloads.generation;
    let readyResolve!: () => void;
    let readyReject!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    const channel = new WorkerChannel(
      slot.index,
      port1,
      (tid) => {
        slot.threadId = tid;
        slot.state = 'ready';
        // Started on material older than a reload committed meanwhile: it gets the new one.
        this.#reloads.workerReady(slot, generation, this.#log, this.id);
        readyResolve();
      },
      (line) => this.#log(line),
    );
    channel.onOpenFailed = (error) => readyReject(error);
    slot.channel = channel;
    slot.state = slot.restarts > 0 ? 'restarting' : 'starting';
    const task: WorkerTask = { port: port2, config };
    slot.task = pool.run(task, { transferList: [port2] }).then(
      () => this.#onTaskEnd(slot, channel, undefined),
      (error: unknown) => {
        readyReject(error as Error);
        this.#onTaskEnd(slot, channel, error as Error);
      },
    );
    return ready;
  }

  #onTaskEnd(slot: Slot, channel: WorkerChannel, error: Error | undefined): void {
    const closing = this.#closing !== undefined;
    channel.fail(
      closing
        ? new RaftLedgerError('ERR_CLOSED', 'the ledger host closed')
        : new RaftLedgerError('ERR_UNAVAILABLE', `worker ${slot.index} of ${this.id} went away${error === undefined ? '' : `: ${error.message}`}; retry`),
    );
    if (slot.channel !== channel || closing) {
      if (closing) slot.state = 'closed';
      return;
    }
    const groups = [...this.#groups].filter((g) => workerFor(g, this.workers) === slot.index).sort((a, b) => a - b);
    const reason = error ?? new Error('the worker task ended unexpectedly');
    this.#log(`[${this.id}] worker ${slot.index} (thread ${slot.threadId}) died: ${reason.message}; groups ${groups.join(',') || '-'}; restarting`);
    this.emit('workerExit', { worker: slot.index, groups, error: reason });
    if (!this.#opened) return; // open() reports it
    slot.state = 'restarting';
    slot.restarts++;
    const delay = Math.min(5000, 100 * 2 ** Math.min(slot.failuresInRow, 6));
    slot.failuresInRow++;
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.#closing !== undefined) return;
      this.#startWorker(slot).then(
        () => {
          slot.failuresInRow = 0;
          this.#log(`[${this.id}] worker ${slot.index} restarted on thread ${slot.threadId}; groups ${groups.join(',') || '-'} reopened`);
          this.emit('workerRestart', { worker: slot.index, groups, threadId: slot.threadId });
        },
        () => {}, // #onTaskEnd runs again and schedules the next attempt
      );
    }, delay);
  }

  #backend(group: number): Backend {
    if (this.#closing !== undefined) throw new RaftLedgerError('ERR_CLOSED', 'the ledger host is closed');
    const local = this.#local;
    if (local !== undefined) return { call: (req) => local.handle(req) };
    const slot = this.#slots[workerFor(group, this.workers)]!;
    const channel = slot.channel;
    if (channel === undefined || slot.state !== 'ready') {
      throw new RaftLedgerError('ERR_UNAVAILABLE', `worker ${slot.index} of ${this.id} (group ${group}) is restarting; retry`);
    }
    return channel;
  }

  #call<K extends HostOp>(group: number, req: HostRequest<K>, transfer = false): Promise<HostResponses[K]> {
    try {
      checkGroup(group, req.op);
      if (!this.#groups.has(group) && req.op !== 'addGroup') throw new RaftLedgerError('ERR_BAD_CONFIG', `${this.id} does not host group ${group}`);
      return this.#backend(group).call(req, transfer);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  hasGroup(group: number): boolean {
    return this.#groups.has(group);
  }

  get groups(): number[] {
    return [...this.#groups].sort((a, b) => a - b);
  }

  /**
   * Read the peer TLS files (options.tls) again, once, and install them on every thread's
   * transport (new outbound connections and the listeners use them; open connections keep
   * theirs): prepareReload, then commit. Rejects with ERR_TLS, nothing changed anywhere,
   * when they do not load; TypeError without TLS.
   */
  async reloadTls(): Promise<void> {
    if (this.#options.tls === undefined) throw new TypeError('reloadTls: this host has no TLS');
    const staged = await this.prepareReload({ tls: loadTlsPem(this.#options.tls) });
    await staged.commit();
  }

  /**
   * Phase one of an all-or-nothing reload (host-reload.ts): every shard (the calling
   * thread's, or each worker's with its attachment) checks `material` and holds the swap.
   * Rejects, with nothing swapped anywhere, when any part refuses (ERR_TLS, ERR_BAD_CONFIG)
   * or a worker is restarting (ERR_UNAVAILABLE). The caller commits or aborts what it gets;
   * reloads are serialized, so the next one waits until then. A part absent from
   * `material` (tls, token) is left as it is.
   */
  prepareReload(material: ReloadMaterial): Promise<StagedReload> {
    if (this.#closing !== undefined) return Promise.reject(new RaftLedgerError('ERR_CLOSED', 'the ledger host is closed'));
    return this.#reloads.prepare(this.id, this.#local, this.#slots, material, this.#log);
  }

  /** Each ready worker's attachment counters (the server's worker client ports), by worker index; [] with workers: 0. */
  async attachmentStats(): Promise<Array<{ worker: number; stats: AttachmentStats }>> {
    const per = await Promise.all(
      this.#slots.map(async (slot) => {
        if (slot.state !== 'ready' || slot.channel === undefined) return [];
        const stats = await slot.channel.call({ op: 'attachmentStats' }).catch(() => null);
        return stats === null ? [] : [{ worker: slot.index, stats }];
      }),
    );
    return per.flat();
  }

  /** The Ledger of `group` when the groups run on the calling thread (workers: 0); undefined on workers or for a group not hosted. */
  localLedger(group: number): Ledger | undefined {
    return this.#local?.ledger(group);
  }

  /**
   * Append one payload (resolves with its ack) or many (one ack each, in order) to `group`
   * once committed. Payloads that are the only view of their ArrayBuffer are transferred to
   * the worker and detached here unless `copy: true` (see payloads.ts). `producer`: an
   * exactly-once append (Ledger.append's option, README.md "Exactly-once appends").
   */
  append(group: number, payload: Uint8Array, options?: HostAppendOptions): Promise<AppendAck>;
  append(group: number, payloads: readonly Uint8Array[], options?: HostAppendOptions): Promise<AppendAck[]>;
  append(group: number, input: Uint8Array | readonly Uint8Array[], options: HostAppendOptions = {}): Promise<AppendAck | AppendAck[]> {
    const single = input instanceof Uint8Array;
    const payloads = single ? [input] : input;
    if (!Array.isArray(payloads) || payloads.length === 0 || !payloads.every((p) => p instanceof Uint8Array)) {
      return Promise.reject(new TypeError('append: expected a Uint8Array or a non-empty array of them'));
    }
    const req = options.producer === undefined ? { op: 'append' as const, group, payloads: [...payloads] } : { op: 'append' as const, group, payloads: [...payloads], producer: { ...options.producer } };
    const done = this.#call(group, req, this.#local === undefined && options.copy !== true).then((w) =>
      w.pos.map((pos, i): AppendAck => ({ index: w.index + i, pos })),
    );
    return single ? done.then((acks) => acks[0]!) : done;
  }

  async read(group: number, index: number, options: { uncommitted?: boolean } = {}): Promise<LedgerEntry | null> {
    const value = await this.#call(group, { op: 'read', group, index, ...(options.uncommitted === true ? { uncommitted: true } : {}) });
    return value === null ? null : toEntry(value);
  }

  /** As Ledger.readRange (system entries left out unless includeSystem). */
  async readRange(group: number, from: number, options: { limit?: number; maxBytes?: number; uncommitted?: boolean; includeSystem?: boolean } = {}): Promise<LedgerEntry[]> {
    const value = await this.#call(group, { op: 'readRange', group, from, ...options });
    return value.map(toEntry);
  }

  /** `{ index, pos }` of `group`'s last committed entry, as fresh as `consistency` says (Ledger.commitPosition). */
  async commitPosition(group: number, options: { consistency?: Consistency; maxLagMs?: number } = {}): Promise<{ index: number; pos: number }> {
    checkReadOptions('commitPosition', options);
    return this.#call(group, { op: 'commitPosition', group, ...options });
  }

  /** Committed entries of `group` from `from` on, waiting for new ones; ends when the signal aborts or the host closes. */
  async *tail(group: number, from: number, options: { signal?: AbortSignal; batchBytes?: number; includeSystem?: boolean } = {}): AsyncGenerator<LedgerEntry> {
    let next = from;
    const signal = options.signal;
    const aborted = new Promise<null>((resolve) => {
      if (signal?.aborted === true) resolve(null);
      signal?.addEventListener('abort', () => resolve(null), { once: true });
    });
    while (this.#closing === undefined && signal?.aborted !== true) {
      let batch: TransferredEntry[] | null;
      try {
        batch = await Promise.race([
          this.#call(group, { op: 'readRange', group, from: next, limit: 4096, maxBytes: options.batchBytes ?? 1024 * 1024, waitMs: 1000, includeSystem: true }),
          aborted,
        ]);
      } catch (error) {
        if (isRaftLedgerError(error, 'ERR_UNAVAILABLE')) {
          await Promise.race([new Promise((r) => setTimeout(r, 100)), aborted]);
          continue;
        }
        if (isRaftLedgerError(error, 'ERR_CLOSED')) return;
        throw error;
      }
      if (batch === null) return;
      for (const e of batch) {
        next = e.index + 1;
        if (options.includeSystem === true || e.type === 'normal') yield toEntry(e);
      }
    }
  }

  /** One group's status (with the worker and thread it runs on), or every group's and the workers'. */
  status(group: number): Promise<GroupStatus>;
  status(): Promise<HostStatus>;
  async status(group?: number): Promise<GroupStatus | HostStatus> {
    if (group !== undefined) return this.#call(group, { op: 'status', group });
    const workers: WorkerInfo[] = [];
    const groups: GroupStatus[] = [];
    if (this.#local !== undefined) {
      workers.push({ index: 0, state: this.#closing !== undefined ? 'closed' : 'ready', threadId, groups: this.groups, restarts: 0 });
      groups.push(...(await this.#local.handle({ op: 'statusAll' })));
    } else {
      const per = await Promise.all(
        this.#slots.map(async (slot) => {
          workers.push({
            index: slot.index,
            state: slot.state,
            threadId: slot.threadId,
            groups: this.groups.filter((g) => workerFor(g, this.workers) === slot.index),
            restarts: slot.restarts,
          });
          if (slot.state !== 'ready' || slot.channel === undefined) return [];
          return slot.channel.call({ op: 'statusAll' }).catch((): GroupStatus[] => []);
        }),
      );
      for (const list of per) groups.push(...list);
      workers.sort((a, b) => a.index - b.index);
      groups.sort((a, b) => a.group - b.group);
    }
    return { threadId, workers, groups };
  }

  /** Hand `group`'s leadership to `to`; resolves once `to` leads. */
  async transferLeadership(group: number, to: string, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.#call(group, { op: 'transferLeadership', group, to, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  }

  /** `group`'s configuration in force on this node (Ledger.members). */
  members(group: number): Promise<MembersView> {
    return this.#call(group, { op: 'members', group });
  }

  /** Add learner `id` to `group` (address: its base 'host:raftPort/clientPort'); resolves once committed (Ledger.addLearner). */
  addLearner(group: number, id: string, address: string): Promise<void> {
    return this.changeMembers(group, { type: 'addLearner', id, address });
  }

  promote(group: number, id: string): Promise<void> {
    return this.changeMembers(group, { type: 'promote', id });
  }

  removeMember(group: number, id: string, options: { force?: boolean } = {}): Promise<void> {
    return this.changeMembers(group, { type: 'remove', id, force: options.force === true });
  }

  /** One membership change of `group` (membership.ts MemberChange); resolves once committed. */
  async changeMembers(group: number, change: MemberChange): Promise<void> {
    await this.#call(group, { op: 'changeMembers', group, change: { ...change } });
  }

  /** Start hosting `group` (opens or creates `<dir>/group-<group>` on its worker). */
  async addGroup(group: number): Promise<void> {
    checkGroup(group, 'addGroup');
    if (this.#groups.has(group)) return;
    this.#groups.add(group);
    try {
      await this.#call(group, { op: 'addGroup', group });
    } catch (error) {
      this.#groups.delete(group);
      throw error;
    }
  }

  /** Stop hosting `group` (its data stays on disk). */
  async removeGroup(group: number): Promise<void> {
    checkGroup(group, 'removeGroup');
    if (!this.#groups.has(group)) return;
    await this.#call(group, { op: 'removeGroup', group });
    this.#groups.delete(group);
  }

  /** Per-worker batching counters (diagnostics and tests). */
  channelStats(): Array<{ worker: number; batches: number; calls: number; copiedBytes: number; transferredBuffers: number }> {
    return this.#slots.map((s) => ({ worker: s.index, ...(s.channel?.stats ?? { batches: 0, calls: 0, copiedBytes: 0, transferredBuffers: 0 }) }));
  }

  /** Test hook (internal.ts): make worker `worker` die like a bug would (process.exit(1) inside it, or an uncaught throw). */
  [crashWorker](worker: number, how: 'exit' | 'throw' = 'exit'): void {
    const slot = this.#slots[worker];
    if (slot?.channel === undefined) throw new RangeError(`no worker ${worker}`);
    slot.channel.send({ kind: 'crash', how });
  }

  /** Close every group (flushing) and the workers. Calls still waiting reject with ERR_CLOSED. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#local !== undefined) await this.#local.close();
      for (const slot of this.#slots) {
        if (slot.timer !== undefined) clearTimeout(slot.timer);
        slot.channel?.send({ kind: 'close' });
      }
      await Promise.all(
        this.#slots.map(async (slot) => {
          if (slot.task === undefined) return;
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([slot.task, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
          clearTimeout(timer);
          slot.state = 'closed';
        }),
      );
      await this.#pool?.destroy();
      this.#dirLock?.release(); // [dir-lock]
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
