import { describe, expect, it } from 'vitest';
import { summarizeLoopDelays, type LoopDelayPoll } from '../../src/tools/cluster/bench-run.js';

describe('summarizeLoopDelays (bench: the servers\' 1 s loop-delay windows)', () => {
  it('keeps each window\'s p99 and its longest stall apart, per server and over all', () => {
    const polls: LoopDelayPoll[] = [
      { server: 'a', p99Ms: 2, maxMs: 3 },
      { server: 'b', p99Ms: 4, maxMs: 250 },
      { server: 'a', p99Ms: 6, maxMs: 7 },
      { server: 'b', p99Ms: 1, maxMs: 2 },
      { server: 'c', p99Ms: 3, maxMs: 40 },
    ];
    const { p99, max } = summarizeLoopDelays(polls);
    expect(p99).toEqual({ worst: 6, median: 3, samples: 5, perServerWorst: { a: 6, b: 4, c: 3 } });
    expect(max).toEqual({ worst: 250, median: 7, samples: 5, perServerWorst: { a: 7, b: 250, c: 40 } });
  });

  it('reports zeros and no servers when no window was polled', () => {
    const none = { worst: 0, median: 0, samples: 0, perServerWorst: {} };
    expect(summarizeLoopDelays([])).toEqual({ p99: none, max: none });
  });
});
