import { describe, expect, it } from 'vitest';
import { DamageGuard } from '../../src/raft/damage.js';

describe('DamageGuard (issue 16)', () => {
  it('an intact replica does everything', () => {
    const g = new DamageGuard();
    expect(g.mayGrantVote()).toBe(true);
    expect(g.mayCampaign()).toBe(true);
    expect(g.reportedMatch(42)).toBe(42);
  });

  it('a damaged replica does not vote, campaign, or ack at or past the damage; repair restores all', () => {
    const g = new DamageGuard();
    g.set(10);
    expect(g.mayGrantVote()).toBe(false);
    expect(g.mayCampaign()).toBe(false);
    expect(g.reportedMatch(42)).toBe(9);
    expect(g.reportedMatch(5)).toBe(5);
    g.set(undefined);
    expect(g.mayGrantVote()).toBe(true);
    expect(g.reportedMatch(42)).toBe(42);
  });

  it('rejects a bad index', () => {
    expect(() => new DamageGuard().set(0)).toThrow(RangeError);
    expect(() => new DamageGuard().set(1.5)).toThrow(RangeError);
  });
});
