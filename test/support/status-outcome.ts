/** Whether a server port serves a client, for TLS and auth tests. */
import { connect } from '../../dist/client/index.js';
import type { LeafFiles } from './certs.js';

/** 'served' when a status request of `group` at `address` is answered, else the error code. */
export async function statusOutcome(address: string, group: number, options: { tls?: LeafFiles | { ca: string }; token?: string } = {}): Promise<string> {
  try {
    const client = await connect({ servers: [address], group, deadlineMs: 5000, requestTimeoutMs: 2000, ...options });
    try {
      await client.status();
      return 'served';
    } finally {
      await client.close();
    }
  } catch (error) {
    return String((error as { code?: unknown }).code ?? (error as Error).message);
  }
}
