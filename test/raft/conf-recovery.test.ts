/** RaftConfig.configuration with configurationIndex: recovery reads only the Config entries after that index. */
import { describe, expect, it } from 'vitest';
import { EntryType, MemoryStorage, RaftCore, encodeConfiguration, type Configuration } from '../../src/raft/index.js';

const conf = (voters: string[], learners: string[] = []): Configuration => ({ voters: voters.map((id) => ({ id, address: '' })), learners: learners.map((id) => ({ id, address: '' })) });

function storageWith(): MemoryStorage {
  const s = new MemoryStorage();
  // Config entries at 2 (a,b,c + learner d) and 3 (d promoted), then normal entries.
  s.append([
    { index: 1, term: 1, type: EntryType.Noop, data: new Uint8Array(0) },
    { index: 2, term: 1, type: EntryType.Config, data: encodeConfiguration(conf(['a', 'b', 'c'], ['d'])) },
    { index: 3, term: 1, type: EntryType.Config, data: encodeConfiguration(conf(['a', 'b', 'c', 'd'])) },
    { index: 4, term: 1, type: EntryType.Normal, data: new Uint8Array(1) },
  ]);
  s.setHardState({ term: 1, vote: '', commit: 4 });
  return s;
}

const ids = (c: Configuration): string[] => [...c.voters.map((m) => `v:${m.id}`), ...c.learners.map((m) => `l:${m.id}`)];

describe('configurationIndex', () => {
  it('a stored configuration at index 3 is not overridden by the older Config entries at or below it', () => {
    const stored = encodeConfiguration(conf(['a', 'b', 'd'])); // c removed at a later index that retention dropped
    const core = new RaftCore({ id: 'a', peers: ['a', 'b', 'c'], storage: storageWith(), recoverConfig: true, configuration: stored, configurationIndex: 4 });
    expect(ids(core.membership.current)).toEqual(['v:a', 'v:b', 'v:d']);
    // Without the index, the log's entries (older) would be read over it.
    const old = new RaftCore({ id: 'a', peers: ['a', 'b', 'c'], storage: storageWith(), recoverConfig: true, configuration: stored });
    expect(ids(old.membership.current)).toEqual(['v:a', 'v:b', 'v:c', 'v:d']);
  });

  it('entries after the index still count', () => {
    const core = new RaftCore({ id: 'a', peers: ['a', 'b', 'c'], storage: storageWith(), recoverConfig: true, configuration: encodeConfiguration(conf(['a', 'b', 'c'])), configurationIndex: 2 });
    expect(ids(core.membership.current)).toEqual(['v:a', 'v:b', 'v:c', 'v:d']);
  });

  it('is checked', () => {
    expect(() => new RaftCore({ id: 'a', peers: ['a'], storage: new MemoryStorage(), configurationIndex: -1 })).toThrow(RangeError);
  });
});
