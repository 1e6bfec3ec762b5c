import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../../src/client/deadlines.js';

describe('DeadlineQueue: one timer for many same-length deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires each item timeoutMs after it was added, oldest first, with one timer armed at a time', () => {
    const expired: string[] = [];
    const q = new DeadlineQueue<string>(100, (item) => expired.push(item));
    q.add('a');
    vi.advanceTimersByTime(30);
    q.add('b');
    q.add('c');
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(69);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['a']);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(29);
    expect(expired).toEqual(['a']);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('delete stops a deadline; emptying the queue clears the timer; add again restarts the clock', () => {
    const expired: string[] = [];
    const q = new DeadlineQueue<string>(100, (item) => expired.push(item));
    q.add('a');
    q.add('b');
    expect(q.delete('a')).toBe(true);
    expect(q.delete('a')).toBe(false);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual(['b']);
    q.add('c');
    vi.advanceTimersByTime(50);
    q.add('c'); // restarted: now due at 150
    vi.advanceTimersByTime(99);
    expect(expired).toEqual(['b']);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['b', 'c']);
    q.add('d');
    expect(q.delete('d')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drain removes everything without expiring it; items added while expiring get their own deadline', () => {
    const expired: string[] = [];
    const q: DeadlineQueue<string> = new DeadlineQueue<string>(10, (item) => {
      expired.push(item);
      if (item === 'a') q.add('a2');
    });
    q.add('a');
    q.add('b');
    expect(q.drain()).toEqual(['a', 'b']);
    vi.advanceTimersByTime(50);
    expect(expired).toEqual([]);
    q.add('a');
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(['a']);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(['a', 'a2']);
    expect(() => new DeadlineQueue(-1, () => {})).toThrow(RangeError);
  });
});
