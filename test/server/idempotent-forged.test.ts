/**
 * Exactly-once appends over the client protocol (issue 14): an idempotent append (op 10)
 * with a producer id the cluster never issued and a sequence above 0, sent as raw bytes to
 * a real one-node Ledger behind a ClientListener, is refused with ERR_UNKNOWN_PRODUCER and
 * appends nothing; the connection stays usable, and the issued id (op 11) works.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeClientResponseFrame, encodeClientRequest } from '../../src/transport/client-codec.js';
import { FrameReader } from '../../src/transport/frame.js';
import { listenOnOneLedger, RawClient, waitFor } from './helpers.js';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

type Response = ReturnType<typeof decodeClientResponseFrame>;

function responses(raw: RawClient): Response[] {
  const reader = new FrameReader();
  return [...reader.frames(Buffer.concat(raw.received))].map((f) => decodeClientResponseFrame(f));
}

describe('a forged producer id over the network', () => {
  it('is ERR_UNKNOWN_PRODUCER and appends nothing; an issued id appends', async () => {
    const { ledger, port } = await listenOnOneLedger(cleanup);
    await waitFor(() => ledger.commitIndex === ledger.lastIndex, 'the leader to commit its no-op');
    const before = ledger.lastIndex;
    const raw = await RawClient.open(port);
    cleanup.push(() => raw.destroy());

    await raw.write(encodeClientRequest({ id: 1, group: 0, op: 'append', payloads: [Buffer.from('forged')], producer: { producerId: 987_654_321, epoch: 0, sequence: 5 } }));
    await waitFor(() => responses(raw).length >= 1, 'the answer to the forged append');
    expect(responses(raw)[0]).toMatchObject({ id: 1, kind: 'error', error: { code: 'ERR_UNKNOWN_PRODUCER' } });
    expect(ledger.lastIndex, 'nothing appended').toBe(before);

    await raw.write(encodeClientRequest({ id: 2, group: 0, op: 'producerId' }));
    await waitFor(() => responses(raw).length >= 2, 'a producer id');
    const issued = responses(raw)[1]!;
    expect(issued).toMatchObject({ id: 2, kind: 'producerId' });
    const producerId = (issued as { producerId: number }).producerId;
    await raw.write(encodeClientRequest({ id: 3, group: 0, op: 'append', payloads: [Buffer.from('real')], producer: { producerId, epoch: 0, sequence: 0 } }));
    await waitFor(() => responses(raw).length >= 3, 'the answer to the real append');
    expect(responses(raw)[2]).toMatchObject({ id: 3, kind: 'append' });
    expect(ledger.lastIndex).toBe(before + 1);
    expect(raw.isClosed).toBe(false);
  });
});
