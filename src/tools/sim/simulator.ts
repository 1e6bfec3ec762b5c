/**
 * Seeded whole-cluster simulator for the Raft core.
 *
 * 3 or 5 RaftCores run on a virtual clock (ms) with a simulated network
 * (drop, delay, reorder, duplicate, partitions, one-way cuts) and simulated
 * disks (writes become durable after a random delay; a crash loses whatever
 * was not durable, possibly keeping a random prefix of it, and the node
 * restarts from its durable state). A client proposes throughout; leadership
 * transfers, spurious campaigns and restarts are mixed in. Invariants are
 * checked after every event; after the fault phase the network heals and the
 * cluster must elect a leader and commit a new proposal within a bound.
 *
 * Everything is determined by the seed: a failing seed replays exactly.
 */
import { DEFAULT_HEARTBEAT_TICKS } from '../../raft/config.js';
import { deriveSeed, mulberry32, type Rng } from '../../raft/prng.js';
import { RaftRefusal, type Entry, type LogReset, type Message, type NodeId, type Ready } from '../../raft/types.js';
import type { CoreSettings, DriverHooks, PendingWrite } from './driver.js';
import { EventQueue } from './event-queue.js';
import { entryKey, Invariants, Violation } from './invariants.js';
import { checkReset, simSnapshot } from './resets.js';
import { SimReads } from './reads.js';
import { SimCompaction } from './compaction.js';
import { SimNetwork } from './network.js';
import type { SimOptions, SimResult } from './sim-types.js';
import { describeLeaders, describeMessage } from './trace-format.js';
import { MembershipChecks, pickConfChange, tryConfChange } from './membership.js';
import { SimDamage } from './damage-events.js';
import { SimNode, type SimContext, type SimEvent as Event, type SimStats } from './sim-node.js';
import { aimCrashAtSync, heal, onCrashEvent, onRestartEvent } from './crashes.js';
import { fault } from './faults.js';

const TICK_MS = 10;

export { entryKey } from './invariants.js';
export { describeMessage } from './trace-format.js';
export type { SimOptions, SimResult } from './sim-types.js';

export class Simulation {
  readonly seed: number;
  readonly n: number;
  private readonly ids: NodeId[];
  private readonly nodes: SimNode[];
  private readonly q = new EventQueue<Event>();
  private now = 0;
  private readonly rng: Rng;
  private readonly netRng: Rng;
  private readonly diskRng: Rng;
  private readonly faultRng: Rng;
  private readonly clientRng: Rng;
  private readonly crashRng: Rng;
  private readonly compaction: SimCompaction;
  private readonly dmg: SimDamage | undefined;
  private readonly faultMs: number;
  private readonly livenessMs: number;
  private readonly fullCheckEvery: number;
  private readonly tracing: boolean;
  private readonly onTrace: ((line: string) => void) | undefined;
  readonly traceLines: string[] = [];

  // network
  private readonly net: SimNetwork;
  private flushMax: number;
  private readonly limits: { maxEntries: number; maxBytes: number; maxInflight: number };
  private healed = false;
  private healedAt = -1;
  private livenessDone = -1;

  // bookkeeping for invariants
  private readonly inv: Invariants;
  /** Reads in the schedule and their check (reads.ts); public for tests. */
  readonly reads: SimReads;
  private readonly acked = new Map<number, number>(); // id -> index
  private nextId = 1;

  private stats: SimStats = { events: 0, proposed: 0, refused: 0, elections: 0, crashes: 0, transfers: 0, resets: 0, confChanges: 0 };
  /** SimOptions.membership: the checks (null when off) and the members' own rng. */
  private readonly members: MembershipChecks | null;
  private readonly memberRng: Rng;
  /** Per seed: the application snapshot's size and chunk size (small, so it takes several chunks). */
  private readonly snapshotBytes: number;
  private readonly chunkBytes: number;
  /** What the crash and fault handlers (crashes.ts, faults.ts) see of this simulation. */
  private readonly ctx: SimContext;

  constructor(opts: SimOptions) {
    this.seed = opts.seed >>> 0;
    this.n = opts.nodes ?? 3;
    if (this.n !== 3 && this.n !== 5) throw new RangeError('simulate: nodes must be 3 or 5');
    this.faultMs = opts.faultMs ?? 3000;
    this.livenessMs = opts.livenessMs ?? 5000;
    this.fullCheckEvery = opts.fullCheckEvery ?? 64;
    this.onTrace = opts.onTrace;
    this.tracing = opts.trace === true || opts.onTrace !== undefined;
    this.rng = mulberry32(deriveSeed(this.seed, 1));
    this.netRng = mulberry32(deriveSeed(this.seed, 2));
    this.net = new SimNetwork(this.netRng);
    this.diskRng = mulberry32(deriveSeed(this.seed, 3));
    this.faultRng = mulberry32(deriveSeed(this.seed, 4));
    this.clientRng = mulberry32(deriveSeed(this.seed, 5));
    this.crashRng = mulberry32(deriveSeed(this.seed, 6));
    this.dmg = opts.damage === true ? new SimDamage(mulberry32(deriveSeed(this.seed, 9))) : undefined;
    const cr = mulberry32(deriveSeed(this.seed, 8));
    // Per seed: compaction ignores the other nodes in some rounds, so followers fall behind a leader's first index.
    this.compaction = new SimCompaction(mulberry32(deriveSeed(this.seed, 7)), cr() < 0.25 ? 0 : cr());
    this.snapshotBytes = cr() < 0.3 ? 0 : 8 + Math.floor(cr() * 600);
    this.chunkBytes = 16 + Math.floor(cr() * 200);
    this.ids = [];
    for (let i = 1; i <= this.n; i++) this.ids.push(`n${i}`);
    const voters = this.ids.slice();
    this.members = opts.membership === true ? new MembershipChecks() : null;
    this.memberRng = mulberry32(deriveSeed(this.seed, 9));
    if (this.members !== null) this.ids.push(`n${this.n + 1}`); // the spare: a learner from the start
    const hooks: DriverHooks = {
      send: (_node, m) => this.send(m),
      ready: (node, rd) => this.onReady(node as SimNode, rd),
      wrote: (node, rd, w) => this.onWrite(node as SimNode, rd, w),
      apply: (node, ents) => this.apply(node as SimNode, ents),
      install: (node, r) => this.install(node as SimNode, r),
      flushed: (node, count) => this.trace(`${node.id} flushed ${count} write(s), durable=${node.durable.lastIndex()}`),
      drained: (node) => {
        this.inv.commit(node as SimNode);
        this.inv.leaderView(node as SimNode);
        const bad = this.members !== null && node.core !== null ? this.members.inForce(node.core) : undefined;
        if (bad !== undefined) this.fail(bad);
      },
    };
    this.nodes = this.ids.map((id, i) => new SimNode(id, voters, hooks, (node) => this.coreSettings(i, node.incarnation)));
    this.inv = new Invariants(this.nodes);
    this.reads = new SimReads(mulberry32(deriveSeed(this.seed, 9)));
    this.net.leaseSlackMs = DEFAULT_HEARTBEAT_TICKS * TICK_MS;
    // per-seed fault profile
    const r = this.rng;
    this.net.pDrop = r() < 0.3 ? 0 : r() * 0.2;
    this.net.pDup = r() < 0.5 ? 0 : r() * 0.1;
    this.net.maxDelay = 1 + Math.floor(r() * 30);
    this.net.pReorder = r() < 0.5 ? 0 : r() * 0.05;
    this.flushMax = 1 + Math.floor(r() * (r() < 0.3 ? 100 : 30));
    // Small batching limits in some seeds, so appends split and acks cover partial batches.
    this.limits = {
      maxEntries: r() < 0.5 ? 512 : 1 + Math.floor(r() * 16),
      maxBytes: r() < 0.7 ? 1 << 20 : 300 + Math.floor(r() * 300),
      maxInflight: r() < 0.5 ? 64 : 2 + Math.floor(r() * 4),
    };
    this.trace(
      `seed=${this.seed} nodes=${this.n} drop=${this.net.pDrop.toFixed(3)} dup=${this.net.pDup.toFixed(3)} reorder=${this.net.pReorder.toFixed(3)} ` +
        `maxDelay=${this.net.maxDelay}ms flushMax=${this.flushMax}ms fault=${this.faultMs}ms ` +
        `maxEntries=${this.limits.maxEntries} maxBytes=${this.limits.maxBytes} maxInflight=${this.limits.maxInflight}`,
    );
    const sim = this;
    this.ctx = {
      n: this.n, ids: this.ids, nodes: this.nodes, net: this.net, stats: this.stats, dmg: this.dmg,
      diskRng: this.diskRng, faultRng: this.faultRng, crashRng: this.crashRng,
      get now() { return sim.now; },
      get healed() { return sim.healed; },
      get flushMax() { return sim.flushMax; },
      set flushMax(ms: number) { sim.flushMax = ms; },
      push: (t, ev) => this.q.push(t, ev), trace: (l) => this.trace(l), startNode: (i) => this.startNode(i),
      drain: (node) => this.drain(node), leaderNode: () => this.leaderNode(),
      campaignedEarly: () => this.reads.leaseClockBroken(this.now + this.net.maxDelay),
    };
  }

  private trace(line: string): void {
    if (!this.tracing) return;
    const s = `${String(this.now).padStart(6)}ms ${line}`;
    this.traceLines.push(s);
    if (this.onTrace) this.onTrace(s);
  }

  private fail(msg: string): never {
    throw new Violation(msg);
  }

  // ------------------------------------------------------------ setup

  private coreSettings(i: number, incarnation: number): CoreSettings {
    return {
      rng: mulberry32(deriveSeed(this.seed, 100 + i * 1000 + incarnation)),
      maxEntriesPerMessage: this.limits.maxEntries,
      maxBytesPerMessage: this.limits.maxBytes,
      maxInflightMessages: this.limits.maxInflight,
      snapshotChunkBytes: this.chunkBytes,
      learners: this.ids.slice(this.n),
      ...(this.nodes[i]?.savedConf === undefined ? {} : { configuration: (this.nodes[i] as SimNode).savedConf }),
      appSnapshot: () => {
        const c = (this.nodes[i] as SimNode).core;
        return c === null ? null : { version: c.appliedIndex, data: simSnapshot(c.appliedIndex, this.snapshotBytes) };
      },
    };
  }

  private startNode(i: number): void {
    const node = this.nodes[i] as SimNode;
    node.flushScheduled = false;
    node.proposals.clear();
    const c = node.start();
    node.lastCommit = c.commitIndex;
    this.members?.forget(node.id);
    // After a restart the commit index must not be past what the cluster committed.
    if (c.commitIndex > this.inv.committedKey.length - 1) {
      this.fail(`${node.id} restarted with commit ${c.commitIndex} past cluster commit ${this.inv.committedKey.length - 1}`);
    }
    this.inv.committedPrefix(node, 1, c.commitIndex);
    this.q.push(this.now + 1 + Math.floor(this.rng() * TICK_MS), { k: 'tick', node: i, inc: node.incarnation });
  }

  // ------------------------------------------------------------ run

  run(): SimResult {
    let violation: string | undefined;
    try {
      for (let i = 0; i < this.nodes.length; i++) this.startNode(i);
      if (this.members !== null) this.q.push(100 + Math.floor(this.memberRng() * 300), { k: 'member' });
      this.q.push(5, { k: 'client' });
      this.q.push(50 + Math.floor(this.faultRng() * 300), { k: 'fault' });
      this.q.push(this.faultMs, { k: 'heal' });
      this.q.push(this.compaction.firstAtMs(), { k: 'compact' });
      if (this.dmg !== undefined) this.q.push(100, { k: 'damage' });
      this.q.push(this.faultMs + this.livenessMs, { k: 'end' });
      for (;;) {
        const next = this.q.pop();
        if (next === undefined) break;
        this.now = next.time;
        this.stats.events++;
        if (next.ev.k === 'end') {
          if (this.livenessDone < 0) {
            this.fail(
              `liveness: no new proposal committed within ${this.livenessMs}ms after faults stopped (leaders: ${this.describeLeaders()})`,
            );
          }
          break;
        }
        this.handle(next.ev);
        if (this.q.size > 200_000) this.fail(`message storm: ${this.q.size} events queued at ${this.now}ms`);
        if (this.stats.events % this.fullCheckEvery === 0) this.inv.logMatching();
        if (this.livenessDone >= 0 && this.now >= this.livenessDone + 1000) break;
      }
      this.inv.final(this.acked);
    } catch (e) {
      if (e instanceof Violation) violation = e.message;
      else violation = `exception: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      this.trace(`VIOLATION: ${violation}`);
    }
    const res: SimResult = {
      seed: this.seed,
      nodes: this.n,
      ok: violation === undefined,
      timeMs: this.now,
      events: this.stats.events,
      proposed: this.stats.proposed,
      refused: this.stats.refused,
      acked: this.acked.size,
      committed: this.inv.committedKey.length - 1,
      elections: this.stats.elections,
      crashes: this.stats.crashes,
      transfers: this.stats.transfers,
      confChanges: this.stats.confChanges,
      resets: this.stats.resets,
      trace: this.traceLines,
    };
    if (violation !== undefined) res.violation = violation;
    return res;
  }

  private describeLeaders(): string {
    return describeLeaders(this.nodes);
  }

  private handle(ev: Event): void {
    switch (ev.k) {
      case 'tick': {
        const node = this.nodes[ev.node] as SimNode;
        if (!node.up || node.incarnation !== ev.inc || node.core === null) return;
        node.core.tick();
        this.drain(node);
        this.q.push(this.now + TICK_MS, ev);
        return;
      }
      case 'deliver': {
        const m = ev.m;
        const node = this.nodes[this.ids.indexOf(m.to)] as SimNode;
        if (!node.up || node.core === null) return;
        if (this.net.cut.has(`${m.from}>${m.to}`)) {
          this.trace(`drop(cut) ${describeMessage(m)}`);
          return;
        }
        this.trace(`recv ${describeMessage(m)}`);
        node.core.step(m);
        this.drain(node);
        return;
      }
      case 'flush': {
        const node = this.nodes[ev.node] as SimNode;
        if (!node.up || node.incarnation !== ev.inc) return;
        node.flushScheduled = false;
        // Usually everything pending; sometimes only a prefix (a slower device).
        const k = this.diskRng() < 0.2 ? 1 + Math.floor(this.diskRng() * node.pending.length) : node.pending.length;
        node.flush(k);
        if (node.pending.length > 0) this.scheduleFlush(ev.node);
        return;
      }
      case 'client':
        this.client();
        this.q.push(this.now + 1 + Math.floor(this.clientRng() * 10), ev);
        return;
      case 'fault':
        if (this.healed) return;
        fault(this.ctx);
        this.q.push(this.now + 10 + Math.floor(this.faultRng() * 250), ev);
        return;
      case 'restart':
        onRestartEvent(this.ctx, ev.node);
        return;
      case 'crash':
        onCrashEvent(this.ctx, ev);
        return;
      case 'heal':
        this.healed = true;
        this.healedAt = this.now;
        heal(this.ctx);
        return;
      case 'damage': {
        const r = this.healed ? undefined : this.dmg?.damage(this.nodes, (l) => this.trace(l));
        if (r !== undefined) this.q.push(this.now + r.afterMs, { k: 'repair', node: r.node, inc: r.inc });
        if (!this.healed) this.q.push(this.now + 50 + Math.floor(this.faultRng() * 300), ev);
        return;
      }
      case 'repair':
        this.dmg?.repair(this.nodes[ev.node] as SimNode, ev.inc, (l) => this.trace(l));
        return;
      case 'member':
        if (this.healed) return;
        this.memberChange();
        this.q.push(this.now + 50 + Math.floor(this.memberRng() * 400), ev);
        return;
      case 'compact':
        this.q.push(this.now + this.compaction.round(this.nodes, this.members !== null, (l) => this.trace(l)), ev);
        return;
      default:
        return;
    }
  }

  // ------------------------------------------------------------ node driver

  private drain(node: SimNode): void {
    node.drain();
  }

  /** Checks and traces before the driver handles a Ready. */
  private onReady(node: SimNode, rd: Ready): void {
    this.inv.commit(node);
    this.reads.onReady(node, rd);
    if (rd.softState) {
      const ss = rd.softState;
      this.trace(`${node.id} is ${ss.role} t${ss.term} leader=${ss.leader || '-'}`);
      if (ss.role === 'leader') {
        this.stats.elections++;
        this.inv.leader(ss.term, node.id);
      }
    }
    if (rd.needsCatchUp.length > 0) {
      const r = rd.needsCatchUp[0]!;
      this.fail(
        `${node.id} signalled needsCatchUp for ${r.peer} (from ${r.fromIndex}, first index ${node.core?.firstIndex}, ` +
          `compacted to ${this.compaction.compactedTo}), though its storage names its log start`,
      );
    }
    if (rd.entries.length > 0) {
      this.inv.newEntries(node, rd.entries);
      if (this.tracing) {
        const f = rd.entries[0] as Entry;
        const l = rd.entries[rd.entries.length - 1] as Entry;
        this.trace(`${node.id} write ${f.index}..${l.index}/t${l.term}`);
      }
    }
  }

  /** A Ready's writes are pending: schedule the flush; aim some crashes at the window where a new term/vote is not yet durable. */
  private onWrite(node: SimNode, rd: Ready, _w: PendingWrite): void {
    this.scheduleFlush(this.nodes.indexOf(node));
    aimCrashAtSync(this.ctx, node, rd);
  }

  private scheduleFlush(i: number): void {
    const node = this.nodes[i] as SimNode;
    if (node.flushScheduled) return;
    node.flushScheduled = true;
    this.q.push(this.now + 1 + Math.floor(this.diskRng() * this.flushMax), {
      k: 'flush',
      node: i,
      inc: node.incarnation,
    });
  }

  private apply(node: SimNode, ents: readonly Entry[]): void {
    const bad = this.members?.applied(node.id, ents);
    if (bad !== undefined) this.fail(bad);
    for (const e of ents) {
      const i = e.index;
      const key = entryKey(e);
      if (i >= this.inv.committedKey.length || this.inv.committedKey[i] !== key || this.inv.committedTerm[i] !== e.term) {
        this.fail(`${node.id} applied ${i}/t${e.term} key=${key} that is not the committed entry (${this.inv.committedKey[i]}/t${this.inv.committedTerm[i]})`);
      }
      const p = node.proposals.get(i);
      if (p !== undefined) {
        node.proposals.delete(i);
        if (p.id === key) {
          if (this.acked.has(key)) this.fail(`proposal ${key} acknowledged twice`);
          this.acked.set(key, i);
          if (this.healed && p.at >= this.healedAt && this.livenessDone < 0) {
            this.livenessDone = this.now;
            this.trace(`LIVENESS ok: proposal ${key} proposed at ${p.at}ms acked ${this.now - this.healedAt}ms after heal`);
          }
        }
      }
    }
  }

  /** A follower's log was reset to a leader's log start: checked by checkReset (resets.ts). */
  private install(node: SimNode, r: LogReset): void {
    this.stats.resets++;
    this.members?.forget(node.id);
    if (r.conf !== undefined) node.savedConf = r.conf;
    this.trace(`${node.id} reset: log starts after ${r.at.index}/t${r.at.term} pos=${r.at.pos} snapshot=${r.snapshot.byteLength}B`);
    const problem = checkReset(node, r, this.nodes, this.inv, this.snapshotBytes);
    if (problem !== undefined) this.fail(problem);
  }

  private send(m: Message): void {
    this.net.send(m, this.now, (t) => this.q.push(t, { k: 'deliver', m }), (line) => this.trace(line));
  }

  // ------------------------------------------------------------ workload and faults

  private leaderNode(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      if (!n.up || n.core === null || n.core.role !== 'leader') continue;
      if (best === undefined || n.core.term > best.core!.term) best = n;
    }
    return best;
  }

  private client(): void {
    this.reads.leaseClockBroken(this.net.lateArrivalMs);
    this.reads.maybeIssue(this.nodes, this.inv.committedKey.length - 1, this.now, TICK_MS);
    const r = this.clientRng;
    let target: SimNode | undefined;
    if (r() < 0.85) target = this.leaderNode();
    if (target === undefined) {
      const up = this.nodes.filter((n) => n.up);
      target = up[Math.floor(r() * up.length)];
    }
    if (target === undefined || target.core === null) return;
    // Client backpressure: don't pile up more than a few hundred uncommitted entries.
    if (target.core.role === 'leader' && target.core.lastIndex - target.core.commitIndex > 128) return;
    const count = 1 + Math.floor(r() * 6);
    const payloads: Uint8Array[] = [];
    const ids: number[] = [];
    for (let j = 0; j < count; j++) {
      const id = this.nextId++;
      const d = new Uint8Array(4 + Math.floor(r() * 40));
      d[0] = id & 0xff;
      d[1] = (id >>> 8) & 0xff;
      d[2] = (id >>> 16) & 0xff;
      d[3] = (id >>> 24) & 0xff;
      payloads.push(d);
      ids.push(id);
    }
    try {
      const first = target.core.propose(payloads);
      this.stats.proposed += count;
      for (let j = 0; j < count; j++) target.proposals.set(first + j, { id: ids[j] as number, at: this.now });
      this.trace(`client -> ${target.id}: ${count} proposal(s) ${ids[0]}.. at ${first}`);
    } catch (e) {
      if (!(e instanceof RaftRefusal)) throw e;
      this.stats.refused += count;
    }
    this.drain(target);
  }

  /** A single-server change on the leader (membership.ts). */
  private memberChange(): void {
    const l = this.leaderNode();
    if (l === undefined || l.core === null) return;
    const cc = pickConfChange(l.core, this.ids, this.n, this.memberRng);
    if (cc === null) return;
    const r = tryConfChange(l.core, cc);
    if (!r.refused) this.stats.confChanges++;
    this.trace(r.line);
    this.drain(l);
  }
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
