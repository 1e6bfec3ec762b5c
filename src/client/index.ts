export { Client, connect } from './client.js';
export type { AppendResult, ConnectOptions, OpOptions, ReadResult, ServerStatus, StatusOptions } from './client.js';
