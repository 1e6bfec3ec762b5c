/**
 * MemoryStorage (the simulator's and the scripted scenarios' storage) and SegmentedLogStorage
 * (the Ledger's, over a real SegmentedLog) pass the same LogStorage contract tests.
 */
import { MemoryStorage, type Entry } from '../../src/raft/index.js';
import { SegmentedLogStorage } from '../../src/replica/log-adapter.js';
import { SegmentedLog } from '../../src/storage/index.js';
import { makeTempDir } from '../support/tmp.js';
import { describeLogStorage } from '../support/log-storage-conformance.js';

describeLogStorage('MemoryStorage', async () => {
  const storage = new MemoryStorage();
  return {
    storage,
    write: async (from, entries) => storage.append(entries.map((e, i): Entry => ({ index: from + i, term: e.term, type: e.type, data: e.data }))),
    compact: async (index) => storage.compact(index),
    setHardState: async (hs) => storage.setHardState(hs),
    close: async () => {},
  };
});

describeLogStorage('SegmentedLogStorage over a SegmentedLog', async () => {
  const tmp = makeTempDir('raftledger-conformance-');
  // Small segments, so that compaction (whole segments only) has something to drop.
  const log = await SegmentedLog.open({ dir: tmp.dir, segmentSizeBytes: 16 * 1024 });
  const storage = new SegmentedLogStorage(log);
  return {
    storage,
    write: async (from, entries) => {
      if (from <= log.lastIndex) await log.truncateSuffix(from);
      log.appendEntries(entries.map((e) => ({ term: e.term, type: e.type, data: e.data })));
      await log.flush();
    },
    compact: async (index) => {
      await log.truncatePrefix(index);
    },
    setHardState: (hs) => log.meta.save({ term: hs.term, votedFor: hs.vote, commitIndex: hs.commit }),
    close: async () => {
      await log.close();
      tmp.cleanup();
    },
  };
});
