/**
 * Bad input for the network reads (issue 15), against a real one-node Ledger behind a
 * ClientListener: the client refuses a bad `from` at the call; a forged readRange frame with
 * `from` 0 or an unknown consistency byte closes that connection only;
 * `from` beyond the end is [] for readRange and a wait for tail; an aborted tail's poll leaves
 * the server within its pollMs while the connection stays open.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../src/client/index.js';
import type { ClientListener } from '../../src/server/client-listener.js';
import { decodeClientResponseFrame, encodeClientRequest } from '../../src/transport/client-codec.js';
import { FRAME_HEADER_BYTES, FrameReader } from '../../src/transport/frame.js';
import { pollUntil } from '../support/wait.js';
import { listenOnOneLedger } from './helpers.js';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(): Promise<{ listener: ClientListener; port: number; client: Client }> {
  const { listener, port } = await listenOnOneLedger(cleanup);
  const client = await connect({ servers: [`127.0.0.1:${port}`], idempotent: false });
  cleanup.push(() => client.close());
  return { listener, port, client };
}

/** Sends one raw frame and resolves with the first response's kind and error code, or 'closed'. */
function rawExchange(port: number, frame: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const reader = new FrameReader();
    const timer = setTimeout(() => finish('no answer'), 5000);
    const finish = (what: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.frames(chunk)) {
        const r = decodeClientResponseFrame(f);
        finish(r.kind === 'error' ? `error ${r.error.code}` : r.kind);
        return;
      }
    });
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.write(frame);
  });
}

const RANGE = { id: 1, group: 0, op: 'readRange', from: 1, limit: 10, maxBytes: 1024, waitMs: 0, consistency: 'linearizable', maxLagMs: 0, includeSystem: false } as const;
/** Offsets in a readRange frame: `from` (u64) after id, group and op; the consistency byte after from, limit, maxBytes, waitMs. */
const FROM_AT = FRAME_HEADER_BYTES + 9;
const CONSISTENCY_AT = FROM_AT + 20;

describe('network reads refuse bad input', () => {
  it('the client refuses a negative, zero, non-integer, unsafe or non-number from at the call', async () => {
    const { client } = await setup();
    for (const from of [-1, 0, 1.5, Number.NaN, 2 ** 53]) {
      await expect(client.readRange(from), `readRange(${from})`).rejects.toThrow(RangeError);
      expect(() => client.tail(from), `tail(${from})`).toThrow(RangeError);
    }
    await expect(client.readRange('1' as never)).rejects.toThrow(TypeError);
    expect(() => client.tail('1' as never)).toThrow(TypeError);
    await expect(client.commitPosition({ consistency: 'eventual' as never })).rejects.toThrow(RangeError);
    await expect(client.readRange(1, { consistency: 'strong' as never })).rejects.toThrow(RangeError);
  });

  it('a forged frame with from 0 or an unknown consistency is refused by the server, which keeps serving', async () => {
    const { port, client } = await setup();
    await client.append(Buffer.from('kept'));
    const good = encodeClientRequest(RANGE);
    const fromZero = Buffer.from(good);
    fromZero.fill(0, FROM_AT, FROM_AT + 8);
    const badConsistency = Buffer.from(good);
    expect(badConsistency[CONSISTENCY_AT]).toBe(1); // linearizable: the offset is right
    badConsistency[CONSISTENCY_AT] = 9;
    expect(await rawExchange(port, good)).toBe('entries');
    // A malformed frame closes that connection (the server logs why); nobody else notices.
    for (const frame of [fromZero, badConsistency]) expect(await rawExchange(port, frame)).toBe('closed');
    expect((await client.readRange(1)).map((e) => e.payload.toString())).toEqual(['kept']);
  });

  it('from beyond the end: readRange answers [], tail waits and starts exactly there', async () => {
    const { client } = await setup();
    const [ack] = await client.appendBatch([Buffer.from('a')]);
    expect(await client.readRange(ack!.index + 1)).toEqual([]);
    expect(await client.readRange(ack!.index + 1_000_000)).toEqual([]);
    const from = ack!.index + 3;
    const got: number[] = [];
    const consumer = (async () => {
      for await (const e of client.tail(from, { pollMs: 200 })) {
        got.push(e.index);
        if (got.length === 2) break;
      }
    })();
    for (let i = 0; i < 4; i++) await client.append(Buffer.from(`b${i}`));
    await consumer;
    expect(got).toEqual([from, from + 1]);
  });

  it('an aborted tail leaves nothing on the server once its poll ends, with the connection still open', async () => {
    const { client, listener } = await setup();
    await client.append(Buffer.from('x'));
    const ac = new AbortController();
    const consumer = (async () => {
      for await (const _ of client.tail(1_000, { signal: ac.signal, pollMs: 300 })) void _;
    })();
    await pollUntil(() => listener.stats().readsWaitingForCommit === 1, 'the poll to wait on the server', { limitMs: 10_000 });
    ac.abort();
    await consumer;
    await pollUntil(() => listener.stats().readsWaitingForCommit === 0, 'the server to let the aborted poll go', { limitMs: 10_000 });
    // No new poll follows the abort, and the same client still reads.
    await new Promise((r) => setTimeout(r, 400));
    expect(listener.stats().readsWaitingForCommit).toBe(0);
    expect((await client.readRange(1)).map((e) => e.payload.toString())).toEqual(['x']);
  });
});
