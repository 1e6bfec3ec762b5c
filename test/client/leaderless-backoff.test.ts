import { describe, expect, it } from 'vitest';
import { Backoff, BACKOFF_LEADERLESS_MAX_MS, BACKOFF_MAX_MS } from '../../src/client/backoff.js';
import { Operation, Stopped } from '../../src/client/operation.js';

describe('retry pacing while looking for a leader (issue 18: failover)', () => {
  it('caps the leaderless backoff at 50 ms, also after longer sleeps, and the busy-server backoff at 200 ms', () => {
    const b = new Backoff();
    const busy = Array.from({ length: 8 }, () => b.next());
    expect(Math.max(...busy)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    expect(Math.max(...busy)).toBeGreaterThan(BACKOFF_LEADERLESS_MAX_MS); // it did grow past the leaderless cap
    // The base is at 200 ms now; a leaderless wait is still at most 50 ms.
    for (let i = 0; i < 8; i++) expect(b.next(BACKOFF_LEADERLESS_MAX_MS)).toBeLessThanOrEqual(BACKOFF_LEADERLESS_MAX_MS);
  });

  it('a sleep ends when news of the leader arrives, not when its timer runs out', async () => {
    const op = new Operation(undefined);
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    // An hour: if the wake-up did not end it, this test would time out.
    const slept = op.sleepUnless(3_600_000, woken);
    wake();
    await expect(slept).resolves.toBe(true);
    op.dispose();
  });

  it('a sleep that is not woken runs its time and says so; an abort still stops it', async () => {
    const op = new Operation(undefined);
    await expect(op.sleepUnless(1, new Promise<void>(() => {}))).resolves.toBe(false);
    op.dispose();
    const ac = new AbortController();
    const aborted = new Operation(ac.signal);
    const slept = aborted.sleepUnless(3_600_000, new Promise<void>(() => {}));
    ac.abort();
    await expect(slept).rejects.toBeInstanceOf(Stopped);
    aborted.dispose();
  });
});
