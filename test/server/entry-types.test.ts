/**
 * An entry's `type` is the name 'normal' | 'noop' | 'config' wherever a user sees it (issue
 * 15): Ledger.read/readRange/tail, LedgerHost.read/readRange/tail, and the network client's
 * read/readRange/tail, with includeSystem: true, the same `{ index, term, pos, type, payload }`
 * in-process and over the network. The wire keeps the byte 1/2/3.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { entryTypeCode, entryTypeName, type LedgerEntry } from '../../src/entry.js';
import { appendVia, leaderOf, openNodes, waitForLeaders, type Nodes } from '../host/helpers.js';
import { take } from '../support/take.js';
import { listenOnOneLedger } from './helpers.js';

let cleanup: Array<() => Promise<void> | void> = [];
let nodes: Nodes | undefined;
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
  await nodes?.close();
  nodes = undefined;
});

/** Comparable form: the payload as text, every other field as it is. */
const plain = (e: LedgerEntry | null): unknown => (e === null ? null : { ...e, payload: e.payload.toString('hex') });

/** A learner address nobody listens on: the change commits with the voters alone. */
const LEARNER = '127.0.0.1:9/10';

describe('named entry types', () => {
  it('entryTypeName and entryTypeCode are inverse on 1..3 and refuse anything else', () => {
    for (const code of [1, 2, 3] as const) expect(entryTypeCode(entryTypeName(code))).toBe(code);
    expect(() => entryTypeName(4 as never)).toThrow(RangeError);
    expect(() => entryTypeCode('padding' as never)).toThrow(RangeError);
    expect(() => entryTypeCode('toString' as never)).toThrow(RangeError);
  });

  it('Ledger and the network client give normal, noop and config by name, in the same shape', async () => {
    const { ledger, port } = await listenOnOneLedger(cleanup);
    const client = await connect({ servers: [`127.0.0.1:${port}`], idempotent: false });
    cleanup.push(() => client.close());
    const [ack] = await client.appendBatch([Buffer.from('hello')]);
    await ledger.addLearner('learner', LEARNER);
    const config = ledger.readRange(1, { includeSystem: true }).find((e) => e.type === 'config');
    expect(config, 'the learner change is a committed config entry').toBeDefined();
    const indexes = [1, ack!.index, config!.index];

    const inProcess = ledger.readRange(1, { includeSystem: true, limit: config!.index });
    expect(indexes.map((i) => inProcess.find((e) => e.index === i)?.type)).toEqual(['noop', 'normal', 'config']);
    expect(indexes.map((i) => ledger.read(i)!.type)).toEqual(['noop', 'normal', 'config']);
    const tailed = await take(ledger.tail(1, { includeSystem: true }), config!.index);
    expect(tailed.map(plain)).toEqual(inProcess.map(plain));

    const overNetwork = await client.readRange(1, { includeSystem: true, limit: config!.index });
    expect(overNetwork.map(plain)).toEqual(inProcess.map(plain));
    for (const i of indexes) expect(plain(await client.read(i))).toEqual(plain(ledger.read(i)));
    const networkTail = await take(client.tail(1, { includeSystem: true }), config!.index);
    expect(networkTail.map(plain)).toEqual(inProcess.map(plain));
    // Without includeSystem only the normal entry is left.
    expect((await client.readRange(1)).map((e) => [e.index, e.type])).toEqual([[ack!.index, 'normal']]);
    expect(ledger.readRange(1).map((e) => [e.index, e.type])).toEqual([[ack!.index, 'normal']]);
    expect(Object.keys(overNetwork[0]!).sort()).toEqual(['index', 'payload', 'pos', 'term', 'type']);
  });

  it('LedgerHost (a worker thread) gives the same names from read, readRange and tail', async () => {
    nodes = await openNodes(1, 1, 'memory');
    await waitForLeaders(nodes, 1);
    const ack = await appendVia(nodes, 0, Buffer.from('x'));
    const host = nodes.hosts.get((await leaderOf(nodes, 0))!)!;
    await host.addLearner(0, 'learner', LEARNER);
    const all = await host.readRange(0, 1, { includeSystem: true });
    const config = all.find((e) => e.type === 'config');
    expect(config, 'the learner change is a committed config entry').toBeDefined();
    expect(all[0]!.type).toBe('noop');
    expect(all.find((e) => e.index === ack.index)!.type).toBe('normal');
    expect(new Set(all.map((e) => e.type))).toEqual(new Set(['noop', 'normal', 'config']));
    for (const e of all) expect(plain(await host.read(0, e.index))).toEqual(plain(e));
    const tailed = await take(host.tail(0, 1, { includeSystem: true }), all.length);
    expect(tailed.map(plain)).toEqual(all.map(plain));
  });
});
