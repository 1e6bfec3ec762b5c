export { Client, connect } from './client.js';
export type { AppendResult, ConnectOptions, OpOptions, ReplicaStatusFields, ServerStatus, StatusOptions } from './client.js';
export type { LedgerEntry } from '../entry.js';
