/**
 * Background scrubbing (issue 16): re-verify the CRCs of a log's records at a bounded rate
 * and repair what is found from peers.
 *
 * Contracts:
 *  - One pass walks [log.firstIndex, limitIndex()] in steps of at most `stepBytes`; after
 *    each step it waits so that the average rate stays at or below bytesPerSec (0 disables:
 *    start() does nothing). Time comes from the injected `sleepMs` so tests need no clock.
 *  - Each step is SegmentedLog.findDamage over the step's indexes: what fails is listed as
 *    damaged (reads of it fail with ERR_LOG_DAMAGED) and handed to `repair`; a repair that
 *    fails leaves it listed and is reported in status (and the log line), never dropped.
 *  - limitIndex() bounds the pass to sealed, committed records (the caller's choice); the
 *    open tail is verified by recovery, not here.
 */
import type { DamagedRecord, SegmentedLog } from '../storage/index.js';

export const DEFAULT_SCRUB_BYTES_PER_SEC = 8 * 1024 * 1024;

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
  /** Bytes verified per step before the rate wait (default 256 KiB). */
  stepBytes?: number;
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
      stepBytes: 256 * 1024,
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
    let to = this.#cursor;
    // Grow the step one record at a time by size (from the index, not the data) so it stays bounded.
    const found: DamagedRecord[] = [];
    while (to <= limit && bytes < this.#o.stepBytes) {
      found.push(...this.#log.findDamage(to, to, (n) => (bytes += n)));
      to++;
    }
    this.#bytes += bytes;
    this.#cursor = to;
    if (found.length > 0) await this.#repair(found);
    const waitMs = Math.ceil((bytes * 1000) / this.#o.bytesPerSec);
    if (waitMs > 0 && !this.#stop) await this.#o.sleepMs(waitMs);
    return true;
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
