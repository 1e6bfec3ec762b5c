import { describe, expect, it } from 'vitest';
import { REPLICA_ELECTION_TICKS, REPLICA_HEARTBEAT_TICKS, replicaTiming } from '../../src/replica/ledger-types.js';
import { resolveConfig } from '../../src/raft/config.js';
import { MemoryStorage } from '../../src/raft/storage.js';

describe('replicaTiming', () => {
  it('defaults to the measured pair', () => {
    expect(replicaTiming({})).toEqual({ heartbeatTicks: REPLICA_HEARTBEAT_TICKS, electionTicks: REPLICA_ELECTION_TICKS });
  });

  it('keeps what is given and derives the other so the core accepts it', () => {
    expect(replicaTiming({ heartbeatTicks: 7, electionTicks: 9 })).toEqual({ heartbeatTicks: 7, electionTicks: 9 });
    expect(replicaTiming({ heartbeatTicks: 30 })).toEqual({ heartbeatTicks: 30, electionTicks: 120 });
    expect(replicaTiming({ heartbeatTicks: 1 })).toEqual({ heartbeatTicks: 1, electionTicks: REPLICA_ELECTION_TICKS });
    expect(replicaTiming({ electionTicks: 100 })).toEqual({ heartbeatTicks: REPLICA_HEARTBEAT_TICKS, electionTicks: 100 });
    expect(replicaTiming({ electionTicks: 2 })).toEqual({ heartbeatTicks: 1, electionTicks: 2 });
    for (const given of [{ heartbeatTicks: 1 }, { heartbeatTicks: 50 }, { electionTicks: 2 }, { electionTicks: 13 }, {}]) {
      const t = replicaTiming(given);
      expect(() => resolveConfig({ id: 'a', peers: ['a', 'b', 'c'], storage: new MemoryStorage(), ...t })).not.toThrow();
    }
  });
});
