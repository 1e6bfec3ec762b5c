/**
 * The Ledger's side of a log start (docs/RAFT.md, "Log start"): a follower behind every
 * other replica's first index is reset, the application snapshot from the leader's
 * snapshot.provide() reaches the follower's snapshot.install() before the reset is
 * acknowledged, and the leader's status() shows the follower in catch-up meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LogStartPoint } from '../../src/raft/index.js';
import { SegmentedLog } from '../../src/storage/index.js';
import { MemoryCluster } from '../support/memory-cluster.js';

const SEGMENT_BYTES = 64 * 1024;
let mc: MemoryCluster | undefined;
afterEach(async () => {
  await mc?.close();
  mc = undefined;
});

async function appendMany(c: MemoryCluster, count: number): Promise<number> {
  const leader = await c.waitForLeader();
  const acks = await leader.append(Array.from({ length: count }, (_, i) => Buffer.from(`e${i}-`.padEnd(700, 'y'))));
  return acks[acks.length - 1]!.index;
}

describe('Ledger: catch-up through a log reset with an application snapshot', () => {
  it('installs the leader\'s snapshot on the follower, then catches it up; status() shows the reset', async () => {
    const blob = Buffer.alloc(300_000, 7);
    blob.write('consume-queue offsets', 0);
    const installs: Array<{ bytes: Buffer; at: LogStartPoint }> = [];
    let release: (() => void) | undefined;
    mc = new MemoryCluster(3, {
      segmentSizeBytes: SEGMENT_BYTES,
      snapshot: {
        provide: () => blob,
        install: (bytes, at) => {
          installs.push({ bytes: Buffer.from(bytes), at });
          // Hold the install until the test looked at the leader's status.
          return new Promise<void>((r) => (release = r));
        },
      },
    });
    await mc.startAll();
    await appendMany(mc, 50);
    const follower = 'n2';
    await mc.stop(follower);
    const last = await appendMany(mc, 400);
    const others = mc.ids.filter((id) => id !== follower);
    await mc.waitFor(() => others.every((id) => (mc!.nodes.get(id)?.commitIndex ?? 0) >= last), 'the others to commit');
    for (const id of others) await mc.stop(id);
    for (const id of others) {
      const log = await SegmentedLog.open({ dir: mc.dirs.get(id)!, segmentSizeBytes: SEGMENT_BYTES });
      await log.truncatePrefix(last - 20);
      await log.close();
    }
    for (const id of others) await mc.start(id);
    const leader = await mc.waitForLeader();
    expect(leader.status().firstIndex).toBeGreaterThan(60);
    await mc.start(follower);
    await mc.waitFor(() => release !== undefined, 'the follower to install the snapshot', 20_000);
    // The reset is not acknowledged before the install finished: the leader still sends the log start.
    const st = leader.status().followers[follower]!;
    expect(st.catchUp).toBe('reset');
    expect(st.reset?.index).toBe(leader.status().firstIndex - 1);
    expect(st.reset?.snapshotSize).toBe(blob.byteLength);
    release!();
    const more = (await leader.append(Buffer.from('after'))).index;
    await mc.waitFor(() => (mc!.nodes.get(follower)?.commitIndex ?? 0) >= more, 'the follower to catch up', 20_000);
    expect(installs).toHaveLength(1);
    expect(installs[0]!.bytes.equals(blob)).toBe(true);
    const f = mc.nodes.get(follower)!;
    expect(installs[0]!.at.index).toBe(f.status().firstIndex - 1);
    expect(leader.status().followers[follower]!.catchUp).toBeUndefined();
    expect(mc.logs.some((l) => l.includes(`[${follower}] log reset`))).toBe(true);
  }, 60_000);
});
