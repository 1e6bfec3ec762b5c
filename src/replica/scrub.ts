/**
 * Background scrubbing (issue 16): re-verify the CRCs of a log's records at a bounded rate
 * and repair what is found from peers.
 *
 * Contracts:
 *  - One pass walks [log.firstIndex, limitIndex()] in steps of at most `stepBytes` and
 *    `stepRecords`; after each step it waits so that the average rate stays at or below
 *    bytesPerSec (0 disables: start() does nothing). Time comes from the injected `sleepMs`
 *    so tests need no clock.
 *  - A step is the only synchronous work (reads and CRC checks of at most 64 KiB or 256
 *    records by default, well under a millisecond from the page cache), and every step ends
 *    in a timer wait, so the scrub yields the event loop between steps and never holds up
 *    appends for longer than one step. The default rate (DEFAULT_SCRUB_BYTES_PER_SEC, per
 *    group) is low enough not to matter for throughput: bench/scrub-cost.mjs measures it.
 *  - Each step is SegmentedLog.findDamage over the step's indexes: what fails is listed as
 *    damaged (reads of it fail with ERR_LOG_DAMAGED) and handed to `repair`; a repair that
 *    fails leaves it listed and is reported in status (and the log line), never dropped.
 *    Indexes already listed are skipped (not found or counted twice), but a step over them
 *    calls `repair` (with no new findings) so that a failed repair is retried every pass.
 *  - limitIndex() bounds the pass to sealed, committed records (the caller's choice); the
 *    open tail is verified by recovery, not here.
 */
import type { DamagedRecord, SegmentedLog } from '../storage/index.js';

/** The scrub rate of a replica that does not set one (per group; 0 disables the scrub). */
export const DEFAULT_SCRUB_BYTES_PER_SEC = 4 * 1024 * 1024;

export interface ScrubFinding {
  index: number;
  term: number;
  pos: number;
  reason: string;
  repaired: boolean;
  /** Why the repair failed, when it did. */
  error?: string;
}

export interface ScrubStatus {
  running: boolean;
  bytesPerSec: number;
  passes: number;
  /** Next index the current pass verifies. */
  cursorIndex: number;
  bytesVerified: number;
  findings: readonly ScrubFinding[];
}

export interface ScrubberOptions {
  bytesPerSec: number;
  /** Highest index a pass covers (e.g. the last committed index in a sealed segment). */
  limitIndex: () => number;
  repair: (damaged: readonly DamagedRecord[]) => Promise<void>;
  sleepMs?: (ms: number) => Promise<void>;
  onLog?: (line: string) => void;
  /** Bytes verified per step before the rate wait (default 64 KiB). */
  stepBytes?: number;
  /** Records verified per step at most (default 256), so that small records keep a step short too. */
  stepRecords?: number;
  /** Most findings kept in status (oldest dropped first; default 100). */
  maxFindings?: number;
}

export class Scrubber {
  readonly #log: SegmentedLog;
  readonly #o: Required<Omit<ScrubberOptions, 'onLog'>> & { onLog: (line: string) => void };
  #running = false;
  #stop = false;
  #loop: Promise<void> | undefined;
  #passes = 0;
  #cursor = 0;
  #bytes = 0;
  #findings: ScrubFinding[] = [];
  /** Ends the default sleep early on stop(). */
  #wake: (() => void) | undefined;

  constructor(log: SegmentedLog, options: ScrubberOptions) {
    if (!Number.isSafeInteger(options.bytesPerSec) || options.bytesPerSec < 0) {
      throw new RangeError(`scrub bytesPerSec must be a non-negative integer, got ${String(options.bytesPerSec)}`);
    }
    this.#log = log;
    this.#o = {
      sleepMs: (ms) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          timer.unref();
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        }),
      stepBytes: 64 * 1024,
      stepRecords: 256,
      maxFindings: 100,
      onLog: () => {},
      ...options,
    };
    this.#cursor = log.firstIndex;
  }

  status(): ScrubStatus {
    return {
      running: this.#running,
      bytesPerSec: this.#o.bytesPerSec,
      passes: this.#passes,
      cursorIndex: this.#cursor,
      bytesVerified: this.#bytes,
      findings: this.#findings.slice(),
    };
  }

  /** Scrub in the background until stop(); nothing when bytesPerSec is 0. */
  start(): void {
    if (this.#o.bytesPerSec === 0 || this.#loop !== undefined) return;
    this.#running = true;
    this.#loop = (async () => {
      try {
        while (!this.#stop) {
          const progressed = await this.step();
          if (!progressed) await this.#o.sleepMs(1000);
        }
      } catch (error) {
        if (!this.#log.closed) this.#o.onLog(`scrub: stopped: ${(error as Error).message}`);
      } finally {
        this.#running = false;
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    this.#wake?.();
    await this.#loop;
  }

  /**
   * One step: verify up to stepBytes from the cursor, repair what is found, then wait for the
   * rate. Returns false when there was nothing to verify (the pass wrapped to the start).
   */
  async step(): Promise<boolean> {
    const limit = Math.min(this.#o.limitIndex(), this.#log.lastIndex);
    if (this.#cursor < this.#log.firstIndex) this.#cursor = this.#log.firstIndex;
    if (this.#cursor > limit) {
      if (this.#cursor > this.#log.firstIndex) this.#passes++;
      this.#cursor = this.#log.firstIndex;
      return false;
    }
    let bytes = 0;
    const count = (n: number): void => {
      bytes += n;
    };
    const found: DamagedRecord[] = [];
    let retry = false;
    const from = this.#cursor;
    const hi = Math.min(limit, from + this.#o.stepRecords - 1);
    let to = this.#log.damaged.some((d) => d.index >= from && d.index <= hi) ? undefined : this.#bulkEnd(from, hi);
    if (to !== undefined) {
      found.push(...this.#log.findDamage(from, to, count));
    } else {
      // Records already listed as damaged are not found again (nor counted); their repair is
      // retried. The step grows one record at a time by size (from the index, not the data).
      const listed = new Set(this.#log.damaged.map((d) => d.index));
      to = from;
      for (; to <= hi && bytes < this.#o.stepBytes; to++) {
        if (listed.has(to)) retry = true;
        else found.push(...this.#log.findDamage(to, to, count));
      }
      to--;
    }
    this.#cursor = to + 1;
    this.#bytes += bytes;
    if (found.length > 0 || retry) await this.#repair(found);
    // At least 1 ms: every step yields to the event loop through a timer.
    const waitMs = Math.max(1, Math.ceil((bytes * 1000) / this.#o.bytesPerSec));
    if (!this.#stop) await this.#o.sleepMs(waitMs);
    return true;
  }

  /**
   * The last index of a step from `from` verified with one findDamage: the records whose start
   * lies less than stepBytes past from's (so, as record by record, one record may cross the
   * bound), at most `hi`. Undefined when a position cannot be read (the step then goes
   * record by record).
   */
  #bulkEnd(from: number, hi: number): number | undefined {
    try {
      const start = this.#log.posOf(from);
      let lo = from;
      let up = hi;
      while (lo < up) {
        const mid = Math.ceil((lo + up) / 2);
        if (this.#log.posOf(mid) - start < this.#o.stepBytes) lo = mid;
        else up = mid - 1;
      }
      return lo;
    } catch {
      return undefined;
    }
  }

  async #repair(found: readonly DamagedRecord[]): Promise<void> {
    for (const d of found) this.#o.onLog(`scrub: index ${d.index} (term ${d.term}, pos ${d.pos}) is damaged: ${d.reason} (${d.path} at offset ${d.offset})`);
    let error: string | undefined;
    try {
      await this.#o.repair(found);
    } catch (e) {
      error = (e as Error).message;
      this.#o.onLog(`scrub: repair failed: ${error}`);
    }
    for (const d of found) {
      const repaired = !this.#log.damaged.some((x) => x.index === d.index);
      if (repaired) this.#o.onLog(`scrub: index ${d.index} repaired`);
      this.#findings.push({ index: d.index, term: d.term, pos: d.pos, reason: d.reason, repaired, ...(repaired || error === undefined ? {} : { error }) });
    }
    if (this.#findings.length > this.#o.maxFindings) this.#findings.splice(0, this.#findings.length - this.#o.maxFindings);
  }
}
