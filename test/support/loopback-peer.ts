/** PeerTransport options of the in-process transport tests: one node on 127.0.0.1 with an ephemeral port. */
import type { PeerTransportOptions } from '../../src/transport/peer-transport.js';

/**
 * Options for node `id` listening on 127.0.0.1:0, dialing `peers`, in cluster `clusterId`
 * with 1 MiB segments and reconnects from 10 ms to `maxReconnectDelayMs`; `rest` supplies
 * the callbacks and anything else (and may override these).
 */
export function loopbackPeer(
  id: string,
  peers: Record<string, string>,
  clusterId: string,
  rest: Partial<PeerTransportOptions> & Pick<PeerTransportOptions, 'onMessage'>,
  maxReconnectDelayMs = 50,
): PeerTransportOptions {
  return {
    id,
    listen: { host: '127.0.0.1', port: 0 },
    peers,
    handshake: { clusterId, segmentSizeBytes: 1 << 20 },
    reconnect: { initialDelayMs: 10, maxDelayMs: maxReconnectDelayMs },
    ...rest,
  };
}
