/**
 * raftledger: a Raft-replicated, mmap-backed, CRC32C-checked commit log for Node.js.
 */
export { crc32c, crc32cImplementation } from './storage/crc32c.js';
export {
  SegmentedLog,
  MetaStore,
  RecordType,
  verifyLog,
  type SegmentedLogOptions,
  type AppendInput,
  type ProducerSpan,
  type ProducerStamp,
  type AppendResult,
  type LogEntry,
  type MetaState,
  type VerifyReport,
  type Damage,
} from './storage/index.js';
export { RaftLedgerError, isRaftLedgerError, type ErrorCode, type LeaderHint } from './errors.js';
export { entryTypeCode, entryTypeName, type EntryTypeName, type LedgerEntry } from './entry.js';
export type { AppendOptions, ProducerOptions } from './replica/idempotence.js';
export { Ledger, type LedgerOptions, type LedgerCoreOptions, type LedgerStatus, type Durability, type RaftLink } from './replica/ledger.js';
export { Server, type ServerOptions } from './server/server.js';
export { validateConfig, type ServerConfig } from './server/config.js';
export { connect, Client, type ConnectOptions, type AppendResult as ClientAppendResult } from './client/index.js';
export { LedgerHost, workerFor, type LedgerHostOptions, type HostStatus, type GroupStatus, type WorkerInfo, type WorkerExitInfo } from './host/index.js';
