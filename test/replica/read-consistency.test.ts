/**
 * Ledger.commitPosition with a stated consistency (src/replica/read-gate.ts):
 * 'linearizable' (ReadIndex), 'lease' and 'follower' (maxLagMs), over an
 * in-process cluster whose network can isolate a node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../src/index.js';
import { MemoryCluster } from '../support/memory-cluster.js';

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('Ledger.commitPosition consistency levels', () => {
  it('linearizable and lease answers on the leader cover every acknowledged append; follower answers on a follower are committed indexes', async () => {
    cluster = new MemoryCluster(3);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => leader.append(Buffer.from(`m${i}`))));
    const last = acks.at(-1)!;
    const lin = await leader.commitPosition();
    expect(lin.index).toBeGreaterThanOrEqual(last.index);
    expect(lin.pos).toBe(leader.read(lin.index)!.pos);
    const many = await Promise.all(Array.from({ length: 50 }, () => leader.commitPosition({ consistency: 'linearizable' })));
    for (const p of many) expect(p.index).toBeGreaterThanOrEqual(last.index);
    expect((await leader.commitPosition({ consistency: 'lease' })).index).toBeGreaterThanOrEqual(last.index);
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await cluster.waitFor(() => follower.leader === leader.id, 'follower to learn the leader');
    const f = await follower.commitPosition({ consistency: 'follower' });
    expect(f.index).toBeLessThanOrEqual(leader.commitIndex);
    const refused = await follower.commitPosition({ consistency: 'linearizable' }).catch((e: unknown) => e);
    expect(isRaftLedgerError(refused, 'ERR_NOT_LEADER')).toBe(true);
  });

  it('an isolated old leader never answers linearizable with a stale value, and refuses follower reads once its lag bound passes', async () => {
    cluster = new MemoryCluster(3, { appendTimeoutMs: 3000 });
    await cluster.startAll();
    const old = await cluster.waitForLeader();
    await old.append(Buffer.from('before'));
    cluster.isolated.add(old.id);
    const pending = old.commitPosition({ consistency: 'linearizable' }).then(
      (p) => ({ ok: true as const, p }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    const next = await cluster.waitForLeader(15_000, old.id);
    const ack = await next.append(Buffer.from('after'));
    const r = await pending;
    // It either timed out or learned it is not leader; an answer would have to cover `after`.
    if (r.ok) expect(r.p.index).toBeGreaterThanOrEqual(ack.index);
    else expect(isRaftLedgerError(r.e, 'ERR_TIMEOUT') || isRaftLedgerError(r.e, 'ERR_NOT_LEADER')).toBe(true);
    const again = await old.commitPosition().catch((e: unknown) => e);
    expect(isRaftLedgerError(again, 'ERR_TIMEOUT') || isRaftLedgerError(again, 'ERR_NOT_LEADER')).toBe(true);
    // 'follower' with a small lag bound: refused (retriable) once the bound has passed without a leader.
    let refusal: unknown;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      refusal = await old.commitPosition({ consistency: 'follower', maxLagMs: 200 }).then(() => undefined, (e: unknown) => e);
      if (refusal === undefined) await new Promise((res) => setTimeout(res, 50));
    }
    expect(isRaftLedgerError(refusal, 'ERR_UNAVAILABLE')).toBe(true);
    expect((refusal as { retriable?: boolean }).retriable).toBe(true);
  });

  it('rejects an unknown consistency and a bad maxLagMs with RangeError', async () => {
    cluster = new MemoryCluster(1);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await expect(leader.commitPosition({ consistency: 'strong' as never })).rejects.toThrow(RangeError);
    await expect(leader.commitPosition({ maxLagMs: -1 })).rejects.toThrow(RangeError);
    await expect(leader.commitPosition({ maxLagMs: 1.5 })).rejects.toThrow(RangeError);
    await expect(leader.commitPosition(null as never)).rejects.toThrow(TypeError);
    expect((await leader.commitPosition()).index).toBe(leader.commitIndex);
  });
});
