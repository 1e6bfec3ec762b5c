import { describe, expect, it } from 'vitest';
import { checkClusterPortPlan, workerClientAddress, workerFor, workerRaftAddress } from '../../src/host/placement.js';

const peers = (step: number, clientBase = 7101) => ({
  n0: { raft: '127.0.0.1:7001', client: `127.0.0.1:${clientBase}` },
  n1: { raft: `127.0.0.1:${7001 + step}`, client: `127.0.0.1:${clientBase + step}` },
  n2: { raft: `127.0.0.1:${7001 + 2 * step}`, client: `127.0.0.1:${clientBase + 2 * step}` },
});

describe('placement and port plans', () => {
  it('places group g on worker g mod W; worker w uses raft port + w and client port + 1 + w', () => {
    expect([0, 1, 2, 3, 4].map((g) => workerFor(g, 2))).toEqual([0, 1, 0, 1, 0]);
    expect(workerFor(5, 0)).toBe(0);
    expect(workerRaftAddress('127.0.0.1:7001', 1)).toBe('127.0.0.1:7002');
    expect(workerClientAddress('127.0.0.1:7101', 1)).toBe('127.0.0.1:7103');
    expect(() => workerClientAddress('127.0.0.1:65535', 0)).toThrow(RangeError);
  });

  it('nodes one port apart are fine without workers and refused with 2 workers, naming both nodes', () => {
    expect(() => checkClusterPortPlan(peers(1), 0)).not.toThrow();
    expect(() => checkClusterPortPlan(peers(1), 2, true)).toThrow(/nodes n0 and n1 share ports/);
    expect(() => checkClusterPortPlan(peers(3), 2, true)).not.toThrow(); // W + 1 apart
    expect(() => checkClusterPortPlan(peers(2), 2, true)).toThrow(/client ports 7101..7103/);
    expect(() => checkClusterPortPlan(peers(2), 2, false)).not.toThrow(); // one client port each
  });

  it("a node's own client ports must not overlap its raft ports", () => {
    expect(() => checkClusterPortPlan({ n0: { raft: '127.0.0.1:7001', client: '127.0.0.1:7002' } }, 2)).toThrow(/collide/);
    expect(() => checkClusterPortPlan({ n0: { raft: '127.0.0.1:7001', client: '127.0.0.2:7002' } }, 2)).not.toThrow(); // other host
  });
});
