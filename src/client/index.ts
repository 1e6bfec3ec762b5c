export { Client, connect } from './client.js';
export type { AppendResult, ConnectOptions, OpOptions, ReadRangeOptions, ReplicaStatusFields, ServerStatus, StatusOptions, TailOptions } from './client.js';
export { entryTypeCode, entryTypeName, type EntryTypeName, type LedgerEntry } from '../entry.js';
