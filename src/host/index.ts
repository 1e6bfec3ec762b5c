export { LedgerHost, type LedgerHostOptions, type HostStatus, type HostAppendOptions, type WorkerInfo, type WorkerExitInfo, type LedgerHostEvents } from './ledger-host.js';
export { type GroupStatus } from './protocol.js';
export { workerFor, workerRaftAddress } from './placement.js';
