export * from './frame.js';
export * from './raft-codec.js';
export * from './client-codec.js';
export * from './handshake.js';
export * from './address.js';
export { SendQueue, type SendSink } from './send-queue.js';
export { PeerTransport, type PeerTransportOptions, type PeerTransportStats, type PeerStats } from './peer-transport.js';
