/**
 * A replica's self-healing (issue 16): damaged records found at start-up, by the background
 * scrub or by a failed read are repaired in place from peers (repair.ts over repair-link.ts),
 * and the Raft core's DamageGuard always reflects what is still damaged.
 *
 * Contracts:
 *  - The guard is set to the lowest damaged index whenever the log lists damage, and cleared
 *    once every record is written back (docs/RAFT.md "Damaged replicas": no vote, no
 *    campaign, a leader steps down, acknowledgements capped below the damage).
 *  - Start-up damage (the startup check's ranges) is re-found on the open log, then repaired
 *    before `startupRepaired` resolves. It rejects with ERR_LOG_CORRUPT naming the indexes
 *    and the replicas asked when every peer answered and none could supply them, or when
 *    repairTimeoutMs passes without that (peers unreachable). Nothing is ever cut here.
 *  - The scrubber (scrub.ts) runs at scrubBytesPerSec (default DEFAULT_SCRUB_BYTES_PER_SEC,
 *    4 MiB/s; 0: off), from the moment start-up damage is repaired, over committed, durable
 *    records and hands what it finds to the same repair; a failed repair leaves the records
 *    listed as damaged and is retried on the next finding or pass.
 */
import { RaftLedgerError } from '../errors.js';
import type { DamageGuard } from '../raft/damage.js';
import type { DamagedRange, SegmentedLog } from '../storage/index.js';
import { repairFromPeers, type RepairSource } from './repair.js';
import { DEFAULT_SCRUB_BYTES_PER_SEC, Scrubber, type ScrubStatus } from './scrub.js';

export const DEFAULT_STARTUP_REPAIR_TIMEOUT_MS = 30_000;
const RETRY_MS = 200;

/** status().repair */
export interface RepairStatus {
  /** Records listed as damaged and not yet repaired now, and the lowest of them. */
  damagedNow: number;
  damagedFromIndex?: number;
  /** Damaged records found so far (start-up, scrub, reads) and repaired in place. */
  damagedFound: number;
  repaired: number;
  /** Record bytes received from peers for repairs. */
  bytesFetched: number;
  /** Wall time of the last repair that left the log intact. */
  lastRepairMs?: number;
  lastError?: string;
  scrub: Omit<ScrubStatus, 'findings'> & { findings: number };
}

export interface SelfRepairDeps {
  id: string;
  log: SegmentedLog;
  guard: DamageGuard;
  /** Repair sources (one per peer), or none without a transport. */
  sources: () => RepairSource[];
  /** Highest index the scrub covers (committed and durable). */
  scrubLimit: () => number;
  /** Ask the replica to run its Ready loop (the guard changed: a leader steps down). */
  kick: () => void;
  logLine: (line: string) => void;
}

export interface SelfRepairOptions {
  scrubBytesPerSec?: number;
  startupDamage?: readonly DamagedRange[];
  repairTimeoutMs?: number;
}

export class SelfRepair {
  readonly #d: SelfRepairDeps;
  readonly #scrubber: Scrubber;
  readonly #startupDamage: readonly DamagedRange[];
  readonly #timeoutMs: number;
  #found = 0;
  #repaired = 0;
  #bytesFetched = 0;
  #lastRepairMs: number | undefined;
  #lastError: string | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Resolves once start-up damage is repaired; rejects when it cannot be (see the contract). */
  readonly startupRepaired: Promise<void>;
  #settle!: { resolve: () => void; reject: (e: Error) => void };

  constructor(deps: SelfRepairDeps, options: SelfRepairOptions) {
    this.#d = deps;
    this.#startupDamage = options.startupDamage ?? [];
    this.#timeoutMs = options.repairTimeoutMs ?? DEFAULT_STARTUP_REPAIR_TIMEOUT_MS;
    this.startupRepaired = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.startupRepaired.catch(() => {}); // the owner awaits it; an unobserved failure is not a crash
    this.#scrubber = new Scrubber(deps.log, {
      bytesPerSec: options.scrubBytesPerSec ?? DEFAULT_SCRUB_BYTES_PER_SEC,
      limitIndex: () => deps.scrubLimit(),
      repair: async (found) => {
        this.#found += found.length;
        this.#sync();
        await this.#repairOnce();
      },
      onLog: (line) => deps.logLine(`[${deps.id}] ${line}`),
    });
  }

  /** Mark start-up damage, start its repair and the scrub. */
  start(): void {
    const log = this.#d.log;
    for (const r of this.#startupDamage) this.#found += log.findDamage(r.fromIndex, r.toIndex).length;
    this.#sync();
    if (log.damaged.length > 0) {
      const list = rangesText(log.damaged.map((d) => d.index));
      this.#d.logLine(`[${this.#d.id}] repair: ${log.damaged.length} damaged record(s) at start-up (indexes ${list}); repairing from peers before serving`);
      void this.#startupLoop();
    } else this.#settle.resolve();
    // The scrub starts once start-up damage is repaired (it would only find the same records again).
    this.startupRepaired.then(
      () => {
        if (!this.#stopped) this.#scrubber.start();
      },
      () => {},
    );
  }

  /** A read found damage at `index` (ERR_LOG_DAMAGED or a failed CRC): list it, step down if leading, repair. */
  noticeDamaged(index: number): void {
    const log = this.#d.log;
    if (this.#stopped || log.closed || log.damaged.some((d) => d.index === index)) return;
    const found = log.findDamage(index, index);
    if (found.length === 0) return;
    this.#found += found.length;
    this.#d.logLine(`[${this.#d.id}] repair: index ${index} is damaged: ${found[0]!.reason}`);
    this.#sync();
    void this.#repairOnce().catch(() => {});
  }

  #sync(): void {
    const from = this.#d.log.damaged[0]?.index;
    if (from !== this.#d.guard.fromIndex) {
      this.#d.guard.set(from);
      this.#d.kick();
    }
  }

  /** Every peer, wrapped to count the bytes they send and whether each answered. */
  #sources(answered: Set<string>, failed: Set<string>): RepairSource[] {
    return this.#d.sources().map((s) => ({
      id: s.id,
      fetch: async (request) => {
        try {
          const got = await s.fetch(request);
          for (const r of got) this.#bytesFetched += r.record.byteLength;
          answered.add(s.id);
          return got;
        } catch (error) {
          failed.add(s.id);
          throw error;
        }
      },
    }));
  }

  /** One repair attempt over every peer (serialized); throws what repairFromPeers throws. */
  #repairOnce(): Promise<void> {
    const run = (this.#running ?? Promise.resolve()).catch(() => {}).then(() => this.#attempt(new Set(), new Set()));
    this.#running = run;
    return run;
  }

  async #attempt(answered: Set<string>, failed: Set<string>): Promise<void> {
    const log = this.#d.log;
    if (log.damaged.length === 0 || this.#stopped || log.closed) return;
    const startedMs = performance.now();
    const before = log.damaged.length;
    const byPeer = new Map<string, number[]>();
    const onLine = (line: string): void => {
      // One line per repaired index is too many for a zeroed range: summarized per peer below.
      const m = / \(term \d+, pos \d+\) repaired in place from (\S+)$/.exec(line);
      const index = /index (\d+)/.exec(line);
      if (m !== null && index !== null) (byPeer.get(m[1]!) ?? byPeer.set(m[1]!, []).get(m[1]!)!).push(Number(index[1]));
      else this.#d.logLine(`[${this.#d.id}] ${line}`);
    };
    try {
      await repairFromPeers(log, this.#sources(answered, failed), onLine);
      this.#lastRepairMs = performance.now() - startedMs;
      this.#lastError = undefined;
      this.#d.logLine(`[${this.#d.id}] repair: log intact again after ${this.#lastRepairMs.toFixed(1)} ms (${this.#bytesFetched} bytes fetched in all)`);
    } catch (error) {
      this.#lastError = (error as Error).message;
      throw error;
    } finally {
      for (const [peer, indexes] of byPeer) this.#d.logLine(`[${this.#d.id}] repair: ${indexes.length} record(s) repaired in place from ${peer}: indexes ${rangesText(indexes)}`);
      this.#repaired += Math.max(0, before - log.damaged.length);
      this.#sync();
    }
  }

  async #startupLoop(): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    let last: Error | undefined;
    for (;;) {
      if (this.#stopped) return this.#settle.reject(new RaftLedgerError('ERR_CLOSED', 'the replica closed before its damaged records were repaired'));
      const answered = new Set<string>();
      const failed = new Set<string>();
      try {
        const run = (this.#running ?? Promise.resolve()).catch(() => {}).then(() => this.#attempt(answered, failed));
        this.#running = run;
        await run;
        if (this.#d.log.damaged.length === 0) return this.#settle.resolve();
      } catch (error) {
        last = error as Error;
      }
      const peers = this.#d.sources().length;
      const allAnswered = peers > 0 && failed.size === 0 && answered.size >= peers;
      if (allAnswered || peers === 0 || Date.now() >= deadline) {
        const why = allAnswered ? 'every peer answered' : peers === 0 ? 'this replica has no peers' : `not every peer answered within ${this.#timeoutMs} ms`;
        const message = last?.message ?? `damaged records remain: ${this.#d.log.damagedRanges().map((r) => `${r.fromIndex}-${r.toIndex}`).join(', ')}`;
        return this.#settle.reject(new RaftLedgerError('ERR_LOG_CORRUPT', `start-up repair failed (${why}): ${message}`, last !== undefined ? { cause: last } : {}));
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
    }
  }

  status(): RepairStatus {
    const log = this.#d.log;
    const { findings, ...scrub } = this.#scrubber.status();
    return {
      damagedNow: log.damaged.length,
      ...(log.damaged.length > 0 ? { damagedFromIndex: log.damaged[0]!.index } : {}),
      damagedFound: this.#found,
      repaired: this.#repaired,
      bytesFetched: this.#bytesFetched,
      ...(this.#lastRepairMs !== undefined ? { lastRepairMs: this.#lastRepairMs } : {}),
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      scrub: { ...scrub, findings: findings.length },
    };
  }

  /** Stop the scrub and wait for a repair in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#scrubber.stop();
    await this.#running?.catch(() => {});
  }
}

/** Sorted indexes as '3, 7-9'. */
function rangesText(indexes: readonly number[]): string {
  const out: string[] = [];
  let from = -1;
  let to = -1;
  for (const i of [...indexes].sort((a, b) => a - b)) {
    if (i === to + 1) to = i;
    else {
      if (from >= 0) out.push(from === to ? `${from}` : `${from}-${to}`);
      from = to = i;
    }
  }
  if (from >= 0) out.push(from === to ? `${from}` : `${from}-${to}`);
  return out.join(', ');
}

/** The replica's SelfRepair from its options (Ledger's constructor). */
export function selfRepairOf(
  options: { id: string; link: { repairSources?(): RepairSource[] }; onLog?: (line: string) => void } & SelfRepairOptions,
  log: SegmentedLog,
  core: { readonly damage: DamageGuard },
  scrubLimit: () => number,
  kick: () => void,
): SelfRepair {
  return new SelfRepair(
    { id: options.id, log, guard: core.damage, sources: () => options.link.repairSources?.() ?? [], scrubLimit, kick, logLine: options.onLog ?? (() => {}) },
    {
      ...(options.scrubBytesPerSec !== undefined ? { scrubBytesPerSec: options.scrubBytesPerSec } : {}),
      ...(options.startupDamage !== undefined ? { startupDamage: options.startupDamage } : {}),
      ...(options.repairTimeoutMs !== undefined ? { repairTimeoutMs: options.repairTimeoutMs } : {}),
    },
  );
}
