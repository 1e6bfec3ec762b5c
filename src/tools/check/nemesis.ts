/**
 * The nemesis: faults on a LocalCluster of real server processes, one at a time, from a
 * seeded schedule. Every fault is healed before the next one starts, and disk faults wait
 * until the damaged replica has caught up again: at most a minority is faulty at any
 * moment (except 'powerall', the memory-mode whole-cluster power loss, which is the point).
 *
 * Kinds:
 *  - kill:      SIGKILL the leader, a follower or a random replica; restart it later.
 *  - pause:     SIGSTOP the leader or a random replica for 2-5 election timeouts; SIGCONT.
 *  - rolling:   restart every replica in turn (SIGTERM or SIGKILL), waiting for a leader.
 *  - partition: via the FaultNet proxies: isolate the leader, isolate a random replica,
 *               one-way (the leader's outgoing bytes lost, incoming delivered), a bridge
 *               (two replicas cut from each other, a third sees both), a stall (hold), or
 *               delay with jitter and connection loss on every link; healed after 0.5-3 s.
 *  - disk:      stop a replica (SIGKILL), damage its log (truncate the tail, flip a bit in
 *               a recent entry, zero a page), restart it. A replica that refuses to start
 *               (ERR_LOG_CORRUPT) is restarted with --repair.
 *  - power:     SIGKILL a replica and forget its writes that were not fsynced; restart.
 *  - powerall:  the same for every replica at once (memory-mode loss window).
 *  - bitrot:    flip bits in older records of a running replica (its scrub repairs them) or
 *               of a stopped one (restarted with no flags: it repairs them from its peers);
 *               bitrot.ts. A refusal to start counts in refusedToStart as for 'disk'.
 */
import { viewCluster, leaderOf, type ReplicaView } from '../cluster/cluster-status.js';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { connect, type Client } from '../../client/index.js';
import { groupDir } from '../../replica/group-set.js';
import { flipBit, lastFlushedPos, powerLoss, truncateTail, zeroPage } from './disk.js';
import { flipOldBits } from './bitrot.js';
import type { PowerLoss } from './checker.js';
import type { FaultNet } from './proxy.js';
import type { Prng } from './prng.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'disk', 'power', 'rolling', 'powerall', 'bitrot'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface NemesisOptions {
  cluster: LocalCluster;
  net: FaultNet | undefined;
  rng: Prng;
  kinds: FaultKind[];
  journal: string;
  electionTimeoutMs: number;
  /** History clock, for power-loss events. */
  now: () => number;
  say: (line: string) => void;
}

export interface NemesisStats {
  faults: number;
  byKind: Record<string, number>;
  refusedToStart: number;
  repaired: number;
  recoveryTimeouts: number;
  powerLosses: PowerLoss[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly #o: NemesisOptions;
  readonly stats: NemesisStats = { faults: 0, byKind: {}, refusedToStart: 0, repaired: 0, recoveryTimeouts: 0, powerLosses: [] };
  #client: Client | undefined;
  readonly #paused = new Set<string>();

  constructor(options: NemesisOptions) {
    this.#o = options;
  }

  async #status(): Promise<ReplicaView[]> {
    this.#client ??= await connect({ servers: this.#o.cluster.clientAddresses, deadlineMs: 3000, requestTimeoutMs: 500, connectTimeoutMs: 300 });
    return viewCluster(this.#client).catch(() => []);
  }

  async leader(): Promise<string | undefined> {
    return leaderOf(await this.#status())?.id;
  }

  #say(line: string): void {
    this.#o.say(`[t=${(this.#o.now() / 1000).toFixed(1)}s] ${line}`);
  }

  /** Run faults until `untilMs` (history clock) or the signal aborts. */
  async run(untilMs: number, signal?: AbortSignal): Promise<void> {
    const { rng, kinds } = this.#o;
    while (this.#o.now() < untilMs && signal?.aborted !== true) {
      await sleep(rng.int(200, 800));
      if (this.#o.now() >= untilMs) break;
      const kind = rng.pick(kinds);
      this.stats.faults++;
      this.stats.byKind[kind] = (this.stats.byKind[kind] ?? 0) + 1;
      try {
        await this.#fault(kind);
      } catch (error) {
        this.#say(`nemesis: ${kind} failed: ${(error as Error).message}`);
      }
      try {
        await this.healAll();
      } catch (error) {
        this.stats.recoveryTimeouts++;
        this.#say(`nemesis: could not heal: ${(error as Error).message.split('\n').slice(-1)[0]}`);
      }
      await this.waitRecovered(20_000);
    }
  }

  async #fault(kind: FaultKind): Promise<void> {
    switch (kind) {
      case 'kill':
        return this.#kill();
      case 'pause':
        return this.#pause();
      case 'rolling':
        return this.#rolling();
      case 'partition':
        return this.#partition();
      case 'disk':
        return this.#disk();
      case 'power':
        return this.#power();
      case 'powerall':
        return this.#powerAll();
      case 'bitrot':
        return this.#bitrot();
    }
  }

  async #pickTarget(which: 'leader' | 'follower' | 'random'): Promise<string> {
    const { cluster, rng } = this.#o;
    const ids = cluster.ids.filter((id) => cluster.isRunning(id));
    if (which === 'random') return rng.pick(ids);
    const leader = await this.leader();
    if (which === 'leader' && leader !== undefined) return leader;
    const followers = ids.filter((id) => id !== leader);
    return rng.pick(followers.length > 0 ? followers : ids);
  }

  async #kill(): Promise<void> {
    const { cluster, rng } = this.#o;
    const which = rng.pick(['leader', 'follower', 'random'] as const);
    const id = await this.#pickTarget(which);
    const downMs = rng.int(100, 1500);
    this.#say(`kill -9 ${which} ${id}; restart in ${downMs} ms`);
    await cluster.kill(id, 'SIGKILL');
    await sleep(downMs);
    await this.restart(id);
  }

  async #pause(): Promise<void> {
    const { cluster, rng, electionTimeoutMs } = this.#o;
    const which = rng.pick(['leader', 'random'] as const);
    const id = await this.#pickTarget(which);
    const ms = rng.int(2 * electionTimeoutMs, 5 * electionTimeoutMs);
    this.#say(`SIGSTOP ${which} ${id} for ${ms} ms`);
    this.#paused.add(id);
    await cluster.kill(id, 'SIGSTOP');
    await sleep(ms);
    await cluster.kill(id, 'SIGCONT');
    this.#paused.delete(id);
  }

  async #rolling(): Promise<void> {
    const { cluster, rng } = this.#o;
    const signal = rng.pick(['SIGTERM', 'SIGKILL'] as const);
    this.#say(`rolling restart (${signal}) of ${cluster.ids.join(', ')}`);
    for (const id of cluster.ids) {
      await cluster.kill(id, signal);
      await sleep(rng.int(50, 300));
      await this.restart(id);
      await this.waitRecovered(10_000);
    }
  }

  async #partition(): Promise<void> {
    const { cluster, rng, net } = this.#o;
    if (net === undefined) throw new Error('partition faults need the proxy (peerRoute)');
    const ids = cluster.ids;
    const leader = await this.leader();
    const holdMs = rng.int(500, 3000);
    const shape = rng.pick(['isolate-leader', 'isolate-random', 'one-way', 'bridge', 'stall', 'slow-lossy'] as const);
    const cut = (a: string, b: string): void => net.setLink(a, b, { mode: 'blackhole' });
    switch (shape) {
      case 'isolate-leader':
      case 'isolate-random': {
        const victim = shape === 'isolate-leader' && leader !== undefined ? leader : rng.pick(ids);
        this.#say(`partition: isolate ${victim}${victim === leader ? ' (leader)' : ''} from ${ids.filter((i) => i !== victim).join(', ')} for ${holdMs} ms`);
        for (const other of ids) if (other !== victim) cut(victim, other);
        break;
      }
      case 'one-way': {
        const victim = leader ?? rng.pick(ids);
        this.#say(`partition: one-way, ${victim}'s outgoing peer bytes lost (incoming delivered) for ${holdMs} ms`);
        for (const other of ids) if (other !== victim) net.set(victim, other, { mode: 'blackhole' });
        break;
      }
      case 'bridge': {
        const [a, b] = [...ids].sort(() => rng.next() - 0.5);
        this.#say(`partition: bridge, ${a} and ${b} cut from each other, the others see both, for ${holdMs} ms`);
        cut(a!, b!);
        break;
      }
      case 'stall': {
        const victim = rng.pick(ids);
        this.#say(`partition: stall (bytes held, then delivered) of ${victim}'s links for ${holdMs} ms`);
        for (const other of ids) if (other !== victim) net.setLink(victim, other, { mode: 'hold' });
        break;
      }
      case 'slow-lossy': {
        const delayMs = rng.int(2, 30);
        const lossRate = rng.pick([0, 0.01, 0.05]);
        this.#say(`network: every link delayed ${delayMs} ms (+jitter) with connection loss rate ${lossRate} per chunk, for ${holdMs} ms`);
        for (const a of ids) for (const b of ids) if (a !== b) net.set(a, b, { mode: 'pass', delayMs, jitterMs: delayMs, lossRate });
        break;
      }
    }
    await sleep(holdMs);
  }

  async #disk(): Promise<void> {
    const { cluster, rng } = this.#o;
    const which = rng.pick(['follower', 'random'] as const);
    const id = await this.#pickTarget(which);
    const kind = rng.pick(['truncate', 'flip', 'zero'] as const);
    await cluster.kill(id, 'SIGKILL');
    const dir = groupDir(cluster.servers.get(id)!.dir, 0);
    const what = kind === 'truncate' ? await truncateTail(dir, rng) : kind === 'flip' ? await flipBit(dir, rng) : await zeroPage(dir, rng);
    this.#say(`disk: ${which} ${id} killed; ${what}`);
    await this.restart(id);
    await this.waitRecovered(20_000, id);
  }

  async #bitrot(): Promise<void> {
    const { cluster, rng } = this.#o;
    const which = rng.pick(['leader', 'follower', 'random'] as const);
    const id = await this.#pickTarget(which);
    const stopped = rng.chance(0.5);
    if (stopped) await cluster.kill(id, 'SIGKILL');
    const repairedBefore = stopped ? 0 : await this.#repaired(id);
    const hit = await flipOldBits(groupDir(cluster.servers.get(id)!.dir, 0), rng);
    this.#say(`bitrot: ${which} ${id} ${stopped ? 'stopped' : 'running'}; ${hit.text}`);
    if (stopped) await this.restart(id);
    else if (hit.indexes.length > 0) {
      // The scrub must find and repair them: wait for it (a timeout is reported, the checker judges).
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await this.#repaired(id)) < repairedBefore + hit.indexes.length) await sleep(100);
      const now = await this.#repaired(id);
      this.#say(`bitrot: ${id} repaired ${now - repairedBefore} of ${hit.indexes.length} record(s) while running`);
    }
    await this.waitRecovered(20_000, id);
  }

  /** status().repair.repaired of replica `id` (-1 when it does not answer). */
  async #repaired(id: string): Promise<number> {
    await this.#status();
    const all = await this.#client!.statusAll({ group: 0 }).catch(() => []);
    const s = all.find((r) => (r.status as { id?: string } | undefined)?.id === id)?.status as { repair?: { repaired?: number } } | undefined;
    return s?.repair?.repaired ?? -1;
  }

  async #power(): Promise<void> {
    const { cluster, rng } = this.#o;
    const id = await this.#pickTarget(rng.pick(['leader', 'follower', 'random'] as const));
    await cluster.kill(id, 'SIGKILL');
    const what = powerLoss(groupDir(cluster.servers.get(id)!.dir, 0), this.#o.journal);
    this.#say(`power loss of ${id}: ${what}`);
    await sleep(rng.int(50, 500));
    await this.restart(id);
    await this.waitRecovered(20_000, id);
  }

  async #powerAll(): Promise<void> {
    const { cluster, journal } = this.#o;
    await Promise.all(cluster.ids.map((id) => cluster.kill(id, 'SIGKILL')));
    await sleep(50);
    const atMs = this.#o.now();
    const dirs = cluster.ids.map((id) => groupDir(cluster.servers.get(id)!.dir, 0));
    const durable = dirs.map((d) => lastFlushedPos(journal, d)).sort((a, b) => b - a);
    const quorum = Math.floor(dirs.length / 2) + 1;
    const durablePos = durable[quorum - 1] ?? 0;
    this.stats.powerLosses.push({ atMs, durablePos });
    this.#say(`power loss of the whole cluster: fsynced positions ${durable.join(', ')}, quorum-durable ${durablePos}`);
    for (const d of dirs) powerLoss(d, journal);
    await Promise.all(cluster.ids.map((id) => this.restart(id)));
  }

  /** Start a stopped replica; if it refuses a damaged log, report it and start it with --repair. */
  async restart(id: string): Promise<void> {
    const { cluster } = this.#o;
    if (cluster.isRunning(id)) return;
    try {
      await cluster.startServer(id);
    } catch (error) {
      const message = (error as Error).message;
      if (!message.includes('ERR_LOG_CORRUPT')) throw error;
      this.stats.refusedToStart++;
      this.#say(`${id} refused to start: ${message.slice(message.indexOf('ERR_LOG_CORRUPT'), message.indexOf('ERR_LOG_CORRUPT') + 240).split('\n')[0]}`);
      await cluster.startServer(id, ['--repair']);
      this.stats.repaired++;
      this.#say(`${id} started with --repair`);
    }
  }

  /** Heal the network, resume paused and restart stopped replicas. */
  async healAll(): Promise<void> {
    const { cluster, net } = this.#o;
    net?.healAll();
    for (const id of this.#paused) await cluster.kill(id, 'SIGCONT');
    this.#paused.clear();
    for (const id of cluster.ids) if (!cluster.isRunning(id)) await this.restart(id);
  }

  /**
   * Wait until there is a leader and every replica (or `id`) has committed what the leader
   * had committed when we began: the cluster is whole again. A timeout is reported, not thrown.
   */
  async waitRecovered(timeoutMs: number, id?: string): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let target: number | undefined;
    while (Date.now() < deadline) {
      const views = await this.#status();
      const leader = leaderOf(views);
      if (leader !== undefined && target === undefined) target = leader.commitIndex ?? 0;
      if (target !== undefined) {
        const behind = views.filter((v) => (id === undefined || v.id === id) && (v.commitIndex ?? -1) < target!);
        if (behind.length === 0 && views.every((v) => v.error === undefined)) return true;
      }
      await sleep(50);
    }
    this.stats.recoveryTimeouts++;
    this.#say(`cluster not recovered within ${timeoutMs} ms`);
    return false;
  }

  async close(): Promise<void> {
    await this.#client?.close();
  }
}
