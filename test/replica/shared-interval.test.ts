import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { everyMs, sharedTimerCount } from '../../src/replica/shared-interval.js';

describe('everyMs: one interval per period per thread', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('subscribers of one period share one timer, each called every period; the last unsubscribe clears it', () => {
    const calls: string[] = [];
    const stopA = everyMs(10, () => calls.push('a'));
    const stopB = everyMs(10, () => calls.push('b'));
    const stopC = everyMs(25, () => calls.push('c'));
    expect(sharedTimerCount()).toBe(2);
    vi.advanceTimersByTime(50);
    expect(calls.filter((c) => c === 'a')).toHaveLength(5);
    expect(calls.filter((c) => c === 'b')).toHaveLength(5);
    expect(calls.filter((c) => c === 'c')).toHaveLength(2);
    expect(calls.slice(0, 2)).toEqual(['a', 'b']); // subscription order within a round
    stopA();
    stopA(); // idempotent
    calls.length = 0;
    vi.advanceTimersByTime(10);
    expect(calls).toEqual(['b']);
    stopB();
    stopC();
    expect(sharedTimerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a subscriber that unsubscribes another mid-round stops it at once; a throwing one does not stop the rest', () => {
    const calls: string[] = [];
    let stopB: () => void = () => {};
    const stopA = everyMs(10, () => {
      calls.push('a');
      stopB();
    });
    stopB = everyMs(10, () => calls.push('b'));
    const stopBoom = everyMs(10, () => {
      throw new Error('boom');
    });
    const stopD = everyMs(10, () => calls.push('d'));
    vi.advanceTimersByTime(10);
    expect(calls).toEqual(['a', 'd']);
    expect(() => vi.advanceTimersByTime(1)).toThrow('boom'); // rethrown from its own macrotask
    stopA();
    stopBoom();
    stopD();
    expect(sharedTimerCount()).toBe(0);
  });

  it('rejects a period that is not a positive number', () => {
    expect(() => everyMs(0, () => {})).toThrow(RangeError);
    expect(() => everyMs(Number.NaN, () => {})).toThrow(RangeError);
  });
});
