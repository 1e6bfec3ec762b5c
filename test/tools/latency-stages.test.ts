import { describe, expect, it } from 'vitest';
import { STAGE_NAMES, appendStages, parseSocketTrace, type SocketEvent } from '../../src/tools/cluster/latency-stages.js';

/** One append at C = 1 starting at t0 (ns), with the given stage lengths in us; follower f1 acks first unless `f2First`. */
function append(t0: number, us: number[], f2First = false): SocketEvent[] {
  const at: number[] = [t0];
  for (const u of us) at.push(at.at(-1)! + u * 1000);
  const [req, got, sent, fRead, fAck, ackIn, resp, done] = at as [number, number, number, number, number, number, number, number];
  const first = f2First ? 'f2' : 'f1';
  const second = f2First ? 'f1' : 'f2';
  const e = (process: string, kind: 'r' | 'w', startNs: number, bytes: number): SocketEvent => ({ process, kind, startNs, endNs: startNs + 500, bytes });
  return [
    e('client', 'w', req, 1067),
    e('L', 'r', got, 1067),
    e('L', 'w', sent, 1150),
    e('L', 'w', sent + 20_000, 1150),
    e(first, 'r', fRead, 1150),
    e(first, 'w', fAck, 58),
    // The other follower: later on both counts, so it does not make the commit.
    e(second, 'r', fRead + 5_000, 1150),
    e(second, 'w', ackIn + 1_000, 58),
    e('L', 'r', ackIn, 58),
    e('L', 'w', resp, 31),
    e('L', 'r', ackIn + 2_000, 58),
    e('client', 'r', done, 31),
  ];
}

describe('appendStages (bench/cluster/latency-stages.mjs)', () => {
  it('cuts each append at C = 1 into its hops and per-process stages, taking the follower that acked first', () => {
    const a = [50, 60, 70, 40, 65, 30, 55];
    const b = [52, 58, 72, 44, 61, 34, 51];
    const events = [...append(1e9, a), ...append(1e9 + 600_000, b, true), ...append(1e9 + 1_200_000, a)];
    // The third append only ends the second one's client turn.
    const r = appendStages(events, 1000);
    expect(r.leader).toBe('L');
    expect(r.samples).toBe(2);
    expect(r.stages.map((s) => s.name)).toEqual([...STAGE_NAMES]);
    expect(r.stages.map((s) => s.p25Us)).toEqual(a.map((x, k) => Math.min(x, b[k]!)));
    expect(r.stages.map((s) => s.p75Us)).toEqual(a.map((x, k) => Math.max(x, b[k]!)));
    const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
    expect(r.total.p25Us).toBe(Math.min(sum(a), sum(b)));
    // Client turns: from a response read to the next request (appends start 600 us apart).
    expect(r.clientTurn.p25Us).toBe(Math.min(600 - sum(a), 600 - sum(b)));
    expect(r.clientTurn.p75Us).toBe(Math.max(600 - sum(a), 600 - sum(b)));
  });

  it('refuses a trace in which no server wrote', () => {
    expect(() => appendStages([{ process: 'client', kind: 'w', startNs: 1, endNs: 2, bytes: 2000 }], 1000)).toThrow(/no server wrote/);
  });

  it('parses the preload\'s lines and skips anything else', () => {
    const text = ['100 130 w 4000>5000 1067', 'garbage', '200 250 r 4000>5000 31', '300 310 w undefined>undefined 9', '400 x r 1>2 3', ''].join('\n');
    expect(parseSocketTrace('n0', text)).toEqual([
      { process: 'n0', startNs: 100, endNs: 130, kind: 'w', bytes: 1067 },
      { process: 'n0', startNs: 200, endNs: 250, kind: 'r', bytes: 31 },
    ]);
  });
});
