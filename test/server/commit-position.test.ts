/** commitPosition over the client protocol (op/kind 20): a real one-node Ledger behind a ClientListener. */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, isRaftLedgerError } from '../../src/index.js';
import { decodeClientRequest, encodeClientRequest } from '../../src/transport/client-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';
import { listenOnOneLedger } from './helpers.js';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('commitPosition over the network', () => {
  it('answers every consistency level from a live leader and rejects bad options before sending', async () => {
    const { ledger, port } = await listenOnOneLedger(cleanup);
    const client = await connect({ servers: [`127.0.0.1:${port}`] });
    cleanup.push(() => client.close());
    const ack = await client.append(Buffer.from('x'));
    for (const consistency of ['linearizable', 'lease', 'follower'] as const) {
      const p = await client.commitPosition({ consistency });
      expect(p.index).toBeGreaterThanOrEqual(ack.index);
      expect(p.pos).toBe(ledger.read(p.index)!.pos);
    }
    expect((await client.commitPosition()).index).toBe(ledger.commitIndex);
    await expect(client.commitPosition({ consistency: 'strong' as never })).rejects.toThrow(RangeError);
    await expect(client.commitPosition({ maxLagMs: -5 })).rejects.toThrow(RangeError);
  });

  it('round-trips the request and refuses an unknown consistency code on the wire', () => {
    const frame = encodeClientRequest({ id: 7, group: 2, op: 'commitPosition', consistency: 'lease', maxLagMs: 250 });
    const body = Buffer.from(frame.subarray(FRAME_HEADER_BYTES));
    expect(decodeClientRequest(body)).toEqual({ id: 7, group: 2, op: 'commitPosition', consistency: 'lease', maxLagMs: 250 });
    body[9] = 9;
    let caught: unknown;
    try {
      decodeClientRequest(body);
    } catch (e) {
      caught = e;
    }
    expect(isRaftLedgerError(caught, 'ERR_PROTOCOL')).toBe(true);
  });
});
