import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LoopDelayMonitor } from '../../src/server/loop-delay.js';

const monitors: LoopDelayMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.close();
});

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the stall under test
  }
}

describe('LoopDelayMonitor', () => {
  it('shows a 150 ms stall of the thread in a window\'s max at the default resolution', async () => {
    const m = new LoopDelayMonitor(200);
    monitors.push(m);
    await sleep(50);
    busyFor(150);
    let seenMaxMs = 0;
    for (let i = 0; i < 30; i++) {
      await sleep(50);
      seenMaxMs = Math.max(seenMaxMs, m.snapshot().maxMs);
    }
    // The sample due during the stall ran at its end, at least 150 ms - resolution late.
    expect(seenMaxMs).toBeGreaterThanOrEqual(130);
  });

  it('keeps reporting its last values after close(), which is idempotent', () => {
    const m = new LoopDelayMonitor(200);
    m.close();
    m.close();
    const s = m.snapshot();
    expect(s.windowMs).toBe(200);
    expect(Number.isFinite(s.maxMs)).toBe(true);
  });
});
