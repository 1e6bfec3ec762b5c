/** The preferred leader (src/replica/preferred-leader.ts): leadership moves back to it once it is healthy and caught up. */
import { describe, expect, it } from 'vitest';
import { MemoryCluster } from '../support/memory-cluster.js';
import { preferredLeaderOf } from '../../src/replica/preferred-leader.js';

describe('preferred leader', () => {
  it('takes the lead when healthy, loses it while down, and gets it back after a restart', async () => {
    const c = new MemoryCluster(3, { preferredLeader: 'n2' });
    try {
      await c.startAll();
      await c.waitFor(() => c.leader()?.id === 'n2', 'n2 leads', 20_000);
      const ack = await c.leader()!.append(Buffer.from('x'));
      await c.stop('n2');
      const other = await c.waitForLeader(10_000, 'n2');
      expect(other.id).not.toBe('n2');
      await other.append(Buffer.from('while n2 is down'));
      await c.start('n2');
      await c.waitFor(() => c.leader()?.id === 'n2', 'n2 leads again', 20_000);
      expect(c.logs.some((l) => l.includes('preferred leader n2 is healthy and caught up: transferring leadership to it'))).toBe(true);
      expect(c.nodes.get('n2')!.read(ack.index)?.payload.toString()).toBe('x');
    } finally {
      await c.close();
    }
  }, 60_000);

  it('per group, or one id for all; none by default', () => {
    expect(preferredLeaderOf(undefined, 0)).toBeUndefined();
    expect(preferredLeaderOf('n1', 5)).toBe('n1');
    expect(preferredLeaderOf({ 0: 'n0', 1: 'n1' }, 1)).toBe('n1');
    expect(preferredLeaderOf({ 0: 'n0' }, 2)).toBeUndefined();
  });
});
