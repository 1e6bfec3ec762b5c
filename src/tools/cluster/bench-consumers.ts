/**
 * Tail consumers for `raftledger bench --consumers K` (issue 15): K network clients, each
 * with its own connection, tailing a group (consumer k tails group k mod G) from the entry
 * after the commit position at start, while the bench's writers append. Reported over the
 * measured window: entries and payload bytes delivered per second (all consumers together),
 * and the end-to-end latency from the append call to delivery at a consumer (p50/p99; one
 * group only, where an acknowledged index names one append).
 */
import { performance } from 'node:perf_hooks';
import { connect, type Client, type ConnectOptions } from '../../client/index.js';
import { percentile } from './load.js';

export interface ConsumerReport {
  consumers: number;
  entries: number;
  seconds: number;
  entriesPerSec: number;
  MBps: number;
  /** Append call to delivery, ms; absent with more than one group. */
  endToEndMs?: { p50: number; p99: number; samples: number };
  /** Tails that ended with an error (the message of the first). */
  errors: number;
  firstError?: string;
}

/** Entries delivered but not yet acknowledged to the writer (or the reverse) are kept this long at most. */
const MATCH_WINDOW = 200_000;

export class BenchConsumers {
  readonly #clients: Client[];
  readonly #abort = new AbortController();
  readonly #runs: Promise<void>[] = [];
  readonly #groups: number;
  /** index -> append call time (from onAck) or -(delivery time), whichever came first (group 0, first consumer). */
  readonly #pending = new Map<number, number>();
  readonly #latencies: number[] = [];
  #measuring = false;
  #startedMs = 0;
  #entries = 0;
  #bytes = 0;
  #errors = 0;
  #firstError: string | undefined;

  private constructor(clients: Client[], groups: number) {
    this.#clients = clients;
    this.#groups = groups;
  }

  static async start(servers: string[], count: number, groups: number, clientOptions: Partial<ConnectOptions> = {}): Promise<BenchConsumers> {
    const clients = await Promise.all(Array.from({ length: count }, () => connect({ servers, ...clientOptions, idempotent: false })));
    const c = new BenchConsumers(clients, groups);
    for (let k = 0; k < count; k++) {
      const group = k % groups;
      const from = (await clients[k]!.commitPosition({ group })).index + 1;
      c.#runs.push(c.#consume(clients[k]!, group, from, k === 0 && groups === 1));
    }
    return c;
  }

  async #consume(client: Client, group: number, from: number, timed: boolean): Promise<void> {
    try {
      for await (const e of client.tail(from, { group, signal: this.#abort.signal })) {
        if (!this.#measuring) continue;
        this.#entries++;
        this.#bytes += e.payload.byteLength;
        if (timed) this.#match(e.index, -performance.now());
      }
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      this.#errors++;
      this.#firstError ??= (error as Error).message;
    }
  }

  /** Pair the two halves of one entry's trip; `t` > 0: the append call, < 0: the delivery. */
  #match(index: number, t: number): void {
    const other = this.#pending.get(index);
    if (other === undefined || Math.sign(other) === Math.sign(t)) {
      if (this.#pending.size >= MATCH_WINDOW) this.#pending.clear();
      this.#pending.set(index, t);
      return;
    }
    this.#pending.delete(index);
    const invoked = Math.max(t, other);
    const delivered = -Math.min(t, other);
    this.#latencies.push(Math.max(0, delivered - invoked));
  }

  /** The writers' onAck hook (LoadOptions.onAck). */
  readonly onAck = (ack: { index: number }, _payload: Buffer, invokedAtMs: number): void => {
    if (this.#measuring && this.#groups === 1) this.#match(ack.index, invokedAtMs);
  };

  /** Start counting (after the warm-up). */
  measure(): void {
    this.#measuring = true;
    this.#startedMs = performance.now();
    this.#entries = 0;
    this.#bytes = 0;
    this.#latencies.length = 0;
    this.#pending.clear();
  }

  /** Stop counting, end the tails, close the clients. */
  async stop(): Promise<ConsumerReport> {
    const seconds = Math.max(1e-3, (performance.now() - this.#startedMs) / 1000);
    this.#measuring = false;
    const entries = this.#entries;
    const bytes = this.#bytes;
    this.#abort.abort();
    await Promise.all(this.#runs);
    await Promise.all(this.#clients.map((c) => c.close()));
    const sorted = Float64Array.from(this.#latencies).sort();
    return {
      consumers: this.#clients.length,
      entries,
      seconds: Number(seconds.toFixed(3)),
      entriesPerSec: Math.round(entries / seconds),
      MBps: Number((bytes / seconds / 1e6).toFixed(2)),
      ...(this.#groups === 1 ? { endToEndMs: { p50: Number(percentile(sorted, 50).toFixed(3)), p99: Number(percentile(sorted, 99).toFixed(3)), samples: sorted.length } } : {}),
      errors: this.#errors,
      ...(this.#firstError !== undefined ? { firstError: this.#firstError } : {}),
    };
  }
}

/** The report as text (appended to the bench's line). */
export function describeConsumers(r: ConsumerReport): string {
  const e2e = r.endToEndMs === undefined ? '' : `, append-to-delivery p50 ${r.endToEndMs.p50} ms, p99 ${r.endToEndMs.p99} ms (${r.endToEndMs.samples} samples)`;
  return `${r.consumers} tail consumer(s): ${r.entriesPerSec} entries/s, ${r.MBps} MB/s${e2e}${r.errors > 0 ? `, ${r.errors} failed (${r.firstError})` : ''}`;
}
