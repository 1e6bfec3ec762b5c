/**
 * Where one append's latency goes at C = 1: the socket writes and 'data' events of the load
 * generator and of every server, stamped with CLOCK_MONOTONIC (one clock for all processes
 * on a machine), cut into the stages of one replicated append:
 *
 *   client write -> leader read -> leader's first send -> a follower's read -> its ack
 *   -> the leader's first ack read -> the leader's response -> the client's read.
 *
 * Hops (a write in one process to the read in the next) are what the kernel, the loopback
 * and the scheduler cost; the others are what a process does between reading and writing.
 * Only meaningful with one append in flight: with more, the stages of appends overlap.
 *
 * The trace format (one line per event, one file per process; bench/cluster/socket-trace.mjs
 * writes it): `<startNs> <endNs> <r|w> <localPort>><remotePort> <bytes>`.
 */
import { percentile } from './load.js';

export interface SocketEvent {
  process: string;
  startNs: number;
  endNs: number;
  kind: 'r' | 'w';
  bytes: number;
}

/** The events of one process's trace; lines that are not events (or of sockets without ports) are skipped. */
export function parseSocketTrace(processName: string, text: string): SocketEvent[] {
  const out: SocketEvent[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 5 || (f[2] !== 'r' && f[2] !== 'w') || !/^\d+>\d+$/.test(f[3]!)) continue;
    const startNs = Number(f[0]);
    const endNs = Number(f[1]);
    const bytes = Number(f[4]);
    if (!Number.isFinite(startNs) || !Number.isFinite(endNs) || !Number.isInteger(bytes)) continue;
    out.push({ process: processName, startNs, endNs, kind: f[2], bytes });
  }
  return out;
}

export const STAGE_NAMES = [
  'client -> leader',
  'leader: request -> first send',
  'leader -> follower',
  'follower: append -> ack',
  'follower -> leader',
  'leader: first ack -> response',
  'leader -> client',
] as const;

export interface StageFigure {
  name: string;
  p25Us: number;
  p50Us: number;
  p75Us: number;
}

export interface AppendStages {
  leader: string;
  /** Appends whose every stage was found. */
  samples: number;
  stages: StageFigure[];
  /** Client write to client read, measured the same way. */
  total: StageFigure;
  /** The client's response read to its next request write (not part of an append's latency). */
  clientTurn: StageFigure;
}

/**
 * The stages of each append in `events` (every process's events). `largeBytes`: a write or
 * read of at least this many bytes carries a payload (requests, appends to followers); smaller
 * ones are acks and responses. The leader is the server that wrote the most; `client` names
 * the load generator's process.
 */
export function appendStages(events: readonly SocketEvent[], largeBytes: number, client = 'client'): AppendStages {
  const ev = [...events].sort((a, b) => a.startNs - b.startNs);
  const writes = new Map<string, number>();
  for (const e of ev) if (e.process !== client && e.kind === 'w') writes.set(e.process, (writes.get(e.process) ?? 0) + 1);
  const leader = [...writes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (leader === undefined) throw new Error('latency-stages: no server wrote anything');
  const followers = [...writes.keys()].filter((p) => p !== leader);
  const n = ev.length;
  const find = (from: number, pred: (e: SocketEvent) => boolean): number => {
    let j = from;
    while (j < n && !pred(ev[j]!)) j++;
    return j;
  };
  const large = (e: SocketEvent): boolean => e.bytes >= largeBytes;
  const perStage: number[][] = STAGE_NAMES.map(() => []);
  const totals: number[] = [];
  const turns: number[] = [];
  let i = 0;
  for (;;) {
    const req = find(i, (e) => e.process === client && e.kind === 'w' && large(e));
    const got = find(req, (e) => e.process === leader && e.kind === 'r' && large(e));
    const sent = find(got, (e) => e.process === leader && e.kind === 'w' && large(e));
    // The follower whose ack was written first is the one that made the commit.
    let best: { read: number; ack: number } | undefined;
    for (const f of followers) {
      const read = find(sent, (e) => e.process === f && e.kind === 'r' && large(e));
      const ack = find(read, (e) => e.process === f && e.kind === 'w' && !large(e));
      if (ack < n && (best === undefined || ev[ack]!.startNs < ev[best.ack]!.startNs)) best = { read, ack };
    }
    const ackIn = best === undefined ? n : find(best.ack, (e) => e.process === leader && e.kind === 'r' && !large(e));
    const resp = find(ackIn, (e) => e.process === leader && e.kind === 'w' && !large(e));
    const done = find(resp, (e) => e.process === client && e.kind === 'r');
    const next = find(done, (e) => e.process === client && e.kind === 'w' && large(e));
    if (next >= n || best === undefined) break;
    const at = [req, got, sent, best.read, best.ack, ackIn, resp, done].map((k) => ev[k]!.startNs);
    const d = at.slice(1).map((t, k) => (t - at[k]!) / 1000);
    if (d.every((x) => x >= 0)) {
      d.forEach((x, k) => perStage[k]!.push(x));
      totals.push((at[7]! - at[0]!) / 1000);
      turns.push((ev[next]!.startNs - at[7]!) / 1000);
    }
    i = next;
  }
  const figure = (name: string, xs: number[]): StageFigure => {
    const s = Float64Array.from(xs).sort();
    const r = (q: number): number => Number(percentile(s, q).toFixed(1));
    return { name, p25Us: r(25), p50Us: r(50), p75Us: r(75) };
  };
  return {
    leader,
    samples: totals.length,
    stages: STAGE_NAMES.map((name, k) => figure(name, perStage[k]!)),
    total: figure('request -> response', totals),
    clientTurn: figure('client: response -> next request', turns),
  };
}
