import { describe, expect, it } from 'vitest';
import { TestCluster } from './harness.js';

describe('smoke', () => {
  it('elects and commits', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    expect(c.leaders()).toEqual(['a']);
    c.propose('a', 'x', 'y');
    c.deliverAll();
    for (const id of c.ids) {
      expect(c.core(id).commitIndex).toBe(3);
      expect(c.logOf(id)).toEqual(['-1', 'x@1', 'y@1']);
      expect(c.node(id).applied.length).toBe(3);
    }
  });
});
