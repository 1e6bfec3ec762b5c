/**
 * Exactly-once appends, randomized at the replica level (the producer table is replica
 * state, not Raft core state): a seeded schedule of producers appending batches, retrying
 * them (same stamp, same bytes) at random, two copies in flight at once, leaders stopped
 * and restarted, leaders cut off (so appends on a deposed leader are replaced), and a
 * deposed leader that proposes a batch in the same turn as the new leader's append reaches
 * it (the core drops the batch unwritten). At the end every acknowledged batch is in the
 * log exactly once at its acknowledged indexes, no (producer, sequence) is stored twice, and
 * every stamped entry holds the payload of its own stamp.
 *
 * The schedule does not depend on the wall clock: the network is delivered by hand
 * (manual-net.ts), elections happen only when the schedule calls one (a TimeoutNow handed to
 * the chosen node), and appends wait for their verdict as long as it takes (appendTimeoutMs
 * far beyond the test), so a seed replays the same steps on a loaded machine.
 * Replay: RAFTLEDGER_SEED=<seed> npx vitest run test/replica/idempotence-random.test.ts
 * (RAFTLEDGER_SEEDS=<n> runs n seeds from it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualNet } from './manual-net.js';
import { Prng } from '../../src/tools/check/prng.js';
import { SegmentedLog } from '../../src/storage/index.js';
import { RecordType } from '../../src/storage/format.js';
import type { Ledger } from '../../src/replica/ledger.js';

let net: ManualNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

const FIRST_SEED = process.env.RAFTLEDGER_SEED !== undefined ? Number(process.env.RAFTLEDGER_SEED) : 14_001;
const SEEDS = process.env.RAFTLEDGER_SEEDS !== undefined ? Number(process.env.RAFTLEDGER_SEEDS) : 3;
const STEPS = 80;

interface Batch {
  producerId: number;
  sequence: number;
  payloads: Buffer[];
  acked?: number[];
}

/** The node that leads in the highest term (undefined while none does). */
function leaderOf(n: ManualNet): Ledger | undefined {
  return [...n.nodes.values()].filter((l) => l.role === 'leader').sort((a, b) => b.term - a.term)[0];
}

/** `id` campaigns now (a TimeoutNow, which no follower's leader lease refuses) and leads with its log committed. */
async function elect(n: ManualNet, id: string, hold?: (m: { from: string; to: string }) => boolean): Promise<Ledger> {
  const x = n.node(id);
  x.receive({ type: 'timeoutNow', from: leaderOf(n)?.id ?? id, to: id, term: x.term });
  await n.run(() => x.role === 'leader' && x.commitIndex === x.lastIndex, `${id} leads`, hold === undefined ? {} : { hold });
  return x;
}

/** `id` follows the leader in its term and holds its whole log (a TimeoutNow is sent only to such a node). */
async function catchUp(n: ManualNet, id: string): Promise<void> {
  const leader = leaderOf(n)!;
  const x = n.node(id);
  await n.run(() => x.term === leader.term && x.lastIndex === leader.lastIndex && x.commitIndex === leader.commitIndex, `${id} to catch up with ${leader.id}`);
}

async function runSchedule(seed: number): Promise<void> {
  const rng = new Prng(seed);
  const n = new ManualNet(3);
  net = n;
  await n.startAll();
  await elect(n, 'n0');
  const producers = [11, 22, 33];
  const next = new Map<number, number>(producers.map((p) => [p, 0]));
  /** Per producer the batch in flight (retried until acknowledged) and the done ones. */
  const current = new Map<number, Batch>();
  const done: Batch[] = [];
  const others = (id: string): string[] => n.ids.filter((x) => x !== id);
  /** The producer's batch in flight, or its next one. */
  const batchOf = (p: number): Batch => {
    let batch = current.get(p);
    if (batch === undefined) {
      const count = rng.int(1, 4);
      const sequence = next.get(p)!;
      batch = { producerId: p, sequence, payloads: Array.from({ length: count }, (_, k) => Buffer.from(`p${p}-s${sequence + k}`)) };
      next.set(p, sequence + count);
      current.set(p, batch);
    }
    return batch;
  };
  const stampOf = (p: number, batch: Batch) => ({ producer: { producerId: p, sequence: batch.sequence } });
  for (let step = 0; step < STEPS; step++) {
    const roll = rng.int(0, 99);
    const leader = leaderOf(n)!;
    const to = others(leader.id)[rng.int(0, 1)]!;
    if (roll < 14) await catchUp(n, to);
    if (roll < 6) {
      // Stop the leader, another node leads, the old one restarts as a follower.
      await n.stop(leader.id);
      await elect(n, to);
      await n.start(leader.id);
      continue;
    }
    if (roll < 10) {
      // Cut the leader off; it takes an append it can never commit; another node leads.
      const p = producers[rng.int(0, producers.length - 1)]!;
      n.cut.add(leader.id);
      const batch = current.get(p);
      if (batch !== undefined) void leader.append(batch.payloads, stampOf(p, batch)).catch(() => {});
      await elect(n, to);
      n.cut.delete(leader.id);
      continue;
    }
    if (roll < 14) {
      // The new leader's first append reaches the old one in the turn it proposes a batch.
      const p = producers[rng.int(0, producers.length - 1)]!;
      const involves = (m: { from: string; to: string }): boolean => m.from === leader.id || m.to === leader.id;
      await elect(n, to, involves);
      const toOld = n.take((m) => m.to === leader.id);
      n.queue = n.queue.filter((m) => !involves(m));
      const batch = batchOf(p);
      void leader.append(batch.payloads, stampOf(p, batch)).catch(() => {});
      for (const m of toOld) n.deliver(m);
      if (rng.chance(0.5)) {
        // ... and leads again at once: its no-op goes where the dropped batch was.
        await catchUp(n, leader.id);
        await elect(n, leader.id);
      }
      continue;
    }
    const p = producers[rng.int(0, producers.length - 1)]!;
    const batch = batchOf(p);
    // Sometimes the same batch twice at once (a retry while the original is in flight).
    const copies = rng.chance(0.2) ? 2 : 1;
    const settled = Promise.allSettled(Array.from({ length: copies }, () => leader.append(batch.payloads, stampOf(p, batch))));
    let results: Array<PromiseSettledResult<Array<{ index: number; pos: number }>>> | undefined;
    void settled.then((r) => (results = r));
    await n.run(() => results !== undefined, `step ${step}: the verdict on p${p} s${batch.sequence}`);
    const ok = results!.find((r): r is PromiseFulfilledResult<Array<{ index: number; pos: number }>> => r.status === 'fulfilled');
    const failed = results!.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed?.reason, `seed ${seed} step ${step}: an append on a leader nothing disturbed failed`).toBeUndefined();
    const indexes = ok!.value.map((a) => a.index);
    for (const r of results!) if (r.status === 'fulfilled') expect(r.value.map((a) => a.index), `seed ${seed}: two answers for one batch`).toEqual(indexes);
    if (batch.acked !== undefined) expect(indexes, `seed ${seed}: a retry of an acknowledged batch moved`).toEqual(batch.acked);
    batch.acked = indexes;
    // Sometimes the ack is "lost": the batch stays current and is retried later.
    if (!rng.chance(0.25)) {
      done.push(batch);
      current.delete(p);
    }
  }
  // Every running node holds the final leader's whole log, committed.
  const leader = leaderOf(n)!;
  await n.run(() => leader.role === 'leader' && [...n.nodes.values()].every((l) => l.commitIndex === leader.lastIndex && l.lastIndex === leader.lastIndex), 'every node to commit the whole log');
  const dir = n.dirs.get(leader.id)!;
  for (const id of n.ids) await n.stop(id);
  const log = await SegmentedLog.open({ dir, segmentSizeBytes: 1024 * 1024 });
  const stamps = new Map<string, number[]>();
  const payloadAt = new Map<number, string>();
  try {
    for (const e of log.readRange(1, log.lastIndex + 1)) {
      if (e.producer === undefined) continue;
      const key = `${e.producer.producerId}/${e.producer.sequence}`;
      stamps.set(key, [...(stamps.get(key) ?? []), e.index]);
      expect({ index: e.index, type: e.type, data: e.data.toString() }, `seed ${seed}: an entry stamped ${key}`).toEqual({ index: e.index, type: RecordType.Normal, data: `p${e.producer.producerId}-s${e.producer.sequence}` });
      payloadAt.set(e.index, e.data.toString());
    }
  } finally {
    await log.close();
  }
  const twice = [...stamps].filter(([, at]) => at.length > 1);
  expect(twice, `seed ${seed}: a (producer, sequence) stored twice`).toEqual([]);
  for (const b of [...done, ...current.values()]) {
    if (b.acked === undefined) continue;
    b.acked.forEach((index, k) => expect(payloadAt.get(index), `seed ${seed}: batch p${b.producerId} s${b.sequence}`).toBe(b.payloads[k]!.toString()));
  }
  expect(done.length, `seed ${seed}`).toBeGreaterThan(10);
}

describe('exactly-once appends under a seeded schedule of retries and leader changes', { timeout: 300_000 }, () => {
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    it(`seed ${seed}: every acknowledged batch once, at its acknowledged indexes`, async () => {
      try {
        await runSchedule(seed);
      } catch (error) {
        console.log(`idempotence-random failed with seed ${seed}; replay with RAFTLEDGER_SEED=${seed} RAFTLEDGER_SEEDS=1`);
        throw error;
      }
    });
  }
});
