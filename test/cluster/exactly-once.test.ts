/**
 * Exactly-once appends across failovers (issue 14), on real server processes: 8 writers
 * through connect() (idempotent by default), the leader SIGKILLed 6 times (bounded: at
 * most 6 kills, about 20 s of writing), then every acknowledged payload must be in the
 * committed log exactly once, at the index it was acknowledged with, and no payload twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../dist/client/index.js';
import { startCluster, waitForLeader, type TestCluster } from '../support/process-cluster.js';

let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

const WRITERS = 8;
const KILLS = 6;
const WRITE_MS = 20_000;
const MAX_PER_WRITER = 400;

describe('exactly-once appends through connect() while the leader is killed', { timeout: 180_000 }, () => {
  it('8 writers, 6 leader kills: every acknowledged payload exactly once, at its acknowledged index', async () => {
    tc = await startCluster();
    const cluster = tc.cluster;
    await waitForLeader(tc.client, 20_000);
    const acked = new Map<string, number>();
    const failed: string[] = [];
    const stopAt = Date.now() + WRITE_MS;
    const writers: Client[] = await Promise.all(Array.from({ length: WRITERS }, () => connect({ servers: cluster.clientAddresses, deadlineMs: 20_000, requestTimeoutMs: 1000 })));
    const write = async (w: number): Promise<void> => {
      for (let n = 0; n < MAX_PER_WRITER && Date.now() < stopAt; n++) {
        const payload = `w${w}-${n}`;
        try {
          const ack = await writers[w]!.append(Buffer.from(payload));
          acked.set(payload, ack.index);
        } catch (error) {
          failed.push(`${payload}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const nemesis = async (): Promise<number> => {
      let kills = 0;
      for (let k = 0; k < KILLS && Date.now() < stopAt - 1000; k++) {
        await new Promise((r) => setTimeout(r, 2500));
        const leader = await waitForLeader(tc!.client, 15_000).catch(() => undefined);
        if (leader?.id === undefined) continue;
        await cluster.kill(leader.id, 'SIGKILL');
        kills++;
        await new Promise((r) => setTimeout(r, 300));
        await cluster.startServer(leader.id);
      }
      return kills;
    };
    const [kills] = await Promise.all([nemesis(), ...Array.from({ length: WRITERS }, (_, w) => write(w))]);
    await Promise.all(writers.map((c) => c.close()));
    expect(kills).toBeGreaterThanOrEqual(3);

    // The committed log, read through a fresh client.
    await waitForLeader(tc.client, 20_000);
    const status = (await tc.client.status()) as { commitIndex?: number; leader?: string };
    let commit = status.commitIndex ?? 0;
    for (let i = 0; i < 50; i++) {
      const s = (await tc.client.status()) as { commitIndex?: number; role?: string };
      if (s.role === 'leader') {
        commit = s.commitIndex ?? commit;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const seen = new Map<string, number[]>();
    for (let from = 1; from <= commit; from += 100) {
      const entries = await Promise.all(Array.from({ length: Math.min(100, commit - from + 1) }, (_, k) => tc!.client.read(from + k)));
      for (const e of entries) {
        if (e === null || e.type !== 'normal') continue;
        const text = e.payload.toString();
        seen.set(text, [...(seen.get(text) ?? []), e.index]);
      }
    }
    const duplicates = [...seen].filter(([, at]) => at.length > 1);
    const misplaced = [...acked].filter(([payload, index]) => (seen.get(payload) ?? []).join() !== String(index));
    console.log(`exactly-once: ${kills} kills, ${acked.size} acknowledged, ${failed.length} failed, ${seen.size} distinct payloads in ${commit} entries, ${duplicates.length} duplicated`);
    expect(duplicates).toEqual([]);
    expect(misplaced).toEqual([]);
    expect(acked.size).toBeGreaterThan(100);
  });
});
