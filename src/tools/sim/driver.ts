/**
 * One Raft node driven in memory: a RaftCore over MemoryStorage plus the
 * Ready/advance handling of the driver contract (docs/RAFT.md). The simulator
 * (clock, lossy network, crashing disks) and the scripted scenarios and golden
 * traces (a network delivered by hand) both run their nodes through this class,
 * so they exercise the core through the same driver.
 *
 * Disk model: `live` is what the core reads (every write, at once); `durable`
 * is what survives a crash. Each Ready that writes a hard state or entries, or
 * holds a message, becomes one pending write. flush(k) makes the first k pending
 * writes durable, releases the messages they held and calls markDurable(); a
 * crash keeps a prefix of the pending writes (possibly a torn part of the next
 * one) and loses the rest.
 *
 * Log epoch: every start() is a new incarnation and passes it to the core as
 * `logEpoch` (docs/RAFT.md, "Log epochs"), as a driver must when a restart may
 * have lost acknowledged entries.
 */
import { RaftCore, type RaftConfig } from '../../raft/raft.js';
import { MemoryStorage } from '../../raft/storage.js';
import type { Entry, HardState, LogReset, Message, NodeId, Ready } from '../../raft/types.js';

/** The writes of one Ready that are not durable yet, and the messages waiting for them. */
export interface PendingWrite {
  hs: HardState | null;
  entries: readonly Entry[];
  held: Message[];
}

/** What the node's owner sees and does; only `send` is required. */
export interface DriverHooks {
  /** A message leaves the node: an untagged one at once, a held one when its write is durable. */
  send(node: DriverNode, m: Message): void;
  /** A Ready is about to be handled (checks, traces). */
  ready?(node: DriverNode, rd: Ready): void;
  /** The Ready's writes became the pending write `w` (schedule a flush, aim a crash). */
  wrote?(node: DriverNode, rd: Ready, w: PendingWrite): void;
  /** The log was reset to a log start (durably, before this Ready's messages leave): install the application snapshot. */
  install?(node: DriverNode, reset: LogReset): void;
  /** Entries the Ready committed, read back from storage, before advance(). */
  apply?(node: DriverNode, entries: readonly Entry[]): void;
  /** `count` pending writes became durable; the core has not been told yet. */
  flushed?(node: DriverNode, count: number): void;
  /** The Ready loop ran dry. */
  drained?(node: DriverNode): void;
}

/** Core settings for one incarnation; id, peers, storage and logEpoch are the driver's. */
export type CoreSettings = Omit<RaftConfig, 'id' | 'peers' | 'storage' | 'logEpoch'>;

export class DriverNode {
  /** null while the node is down. */
  core: RaftCore | null = null;
  /** What the core reads: everything written. */
  live = new MemoryStorage();
  /** What survives a crash. */
  durable = new MemoryStorage();
  /** Written, not yet durable, oldest first. */
  pending: PendingWrite[] = [];
  /** Starts so far; the current one is also the core's logEpoch. */
  incarnation = 0;
  /** Flush every write as soon as its Ready is handled (the scripted scenarios' default). */
  autoFlush = false;

  constructor(
    readonly id: NodeId,
    readonly peers: readonly NodeId[],
    readonly hooks: DriverHooks,
    private readonly settings: (node: DriverNode) => CoreSettings = () => ({}),
  ) {}

  get up(): boolean {
    return this.core !== null;
  }

  /** Starts (or restarts) the node from its durable state, as a new incarnation. */
  start(): RaftCore {
    this.incarnation++;
    this.live = this.durable.clone();
    this.pending = [];
    this.core = new RaftCore({
      recoverConfig: true, // this driver's logs may hold Config entries
      ...this.settings(this),
      id: this.id,
      peers: this.peers,
      storage: this.live,
      logEpoch: this.incarnation,
    });
    return this.core;
  }

  /** Runs the Ready loop until the core has nothing more to do. */
  drain(): void {
    const c = this.core;
    if (c === null) return;
    const hooks = this.hooks;
    for (;;) {
      const rd = c.ready();
      if (rd === null) break;
      hooks.ready?.(this, rd);
      if (rd.logReset !== null) this.resetLog(rd.logReset);
      let w: PendingWrite | null = null;
      if (rd.hardState) {
        this.live.setHardState(rd.hardState);
        w = { hs: rd.hardState, entries: [], held: [] };
      }
      if (rd.entries.length > 0) {
        this.live.append(rd.entries);
        if (w === null) w = { hs: null, entries: rd.entries, held: [] };
        else w.entries = rd.entries;
      }
      for (let i = 0; i < rd.messages.length; i++) {
        const m = rd.messages[i] as Message;
        if (m.waitForHardState || m.waitForDurableIndex !== undefined) {
          if (w === null) w = { hs: null, entries: [], held: [] };
          w.held.push(m);
        } else {
          hooks.send(this, m);
        }
      }
      if (w !== null) {
        this.pending.push(w);
        hooks.wrote?.(this, rd, w);
      }
      if (rd.committed && hooks.apply) {
        hooks.apply(this, this.live.entries(rd.committed.from, rd.committed.to + 1, Number.MAX_SAFE_INTEGER));
      }
      c.advance(rd);
      if (this.autoFlush && this.pending.length > 0) this.makeDurable(this.pending.length);
    }
    hooks.drained?.(this);
  }

  /**
   * A log start: the reset is durable at once (one metadata commit point, like
   * SegmentedLog.resetTo). Entries of earlier writes still pending are
   * superseded by it (the disk orders the reset after them), their hard states
   * and held messages stay.
   */
  private resetLog(r: LogReset): void {
    for (const w of this.pending) w.entries = [];
    this.live.resetTo(r.at.index, r.at.term, r.at.pos);
    this.durable.resetTo(r.at.index, r.at.term, r.at.pos);
    this.hooks.install?.(this, r);
  }

  /** The disk completes the first k pending writes (default all), then the Ready loop runs. */
  flush(k = this.pending.length): void {
    if (k <= 0 || this.core === null) return;
    this.makeDurable(k);
    this.drain();
  }

  private makeDurable(k: number): void {
    const ws = this.pending.splice(0, k);
    for (const w of ws) {
      if (w.hs) this.durable.setHardState(w.hs);
      if (w.entries.length > 0) this.durable.append(w.entries);
    }
    for (const w of ws) for (const m of w.held) this.hooks.send(this, m);
    this.hooks.flushed?.(this, ws.length);
    const last = this.durable.lastIndex();
    this.core?.markDurable(last, this.durable.term(last) as number);
  }

  /**
   * The node stops. The first `keep` pending writes reached the disk; of the next
   * one, if `tornEntries` is given, the hard state and that many entries did; the
   * rest is lost.
   */
  crash(keep = 0, tornEntries?: number): void {
    const ws = this.pending.splice(0, keep);
    for (const w of ws) {
      if (w.hs) this.durable.setHardState(w.hs);
      if (w.entries.length > 0) this.durable.append(w.entries);
    }
    const torn = this.pending[0];
    if (torn !== undefined && tornEntries !== undefined) {
      if (torn.hs) this.durable.setHardState(torn.hs);
      if (tornEntries > 0) this.durable.append(torn.entries.slice(0, tornEntries));
    }
    this.pending = [];
    this.core = null;
  }

  /**
   * The durable log loses every entry after `index` (a cut segment, a repair, a
   * power loss in memory mode); the persisted commit is clamped to what is left.
   * Only while the node is down.
   */
  loseEntriesAfter(index: number): void {
    if (this.core !== null) throw new Error(`${this.id}: loseEntriesAfter while running`);
    this.durable.truncateAfter(index);
  }

  /** Drops entries below `index` from both the live and the durable log. */
  compact(index: number): void {
    this.live.compact(index);
    this.durable.compact(index);
  }
}
