/**
 * Short torture runs, one per fault kind, on real server processes (see src/check/).
 * Each prints its seed; replay one with
 *   RAFTLEDGER_SEED=<seed> npx vitest run test/faults/torture.test.ts -t '<name>'
 * or with the CLI: raftledger torture --seed <seed> --faults <kinds> --duration <s>.
 * Longer runs: scripts/torture-long.sh.
 */
import { describe, expect, it } from 'vitest';
import { runTorture, formatSummary, type TortureOptions } from '../../dist/tools/check/torture-run.js';
import { formatVerdict } from '../../dist/tools/check/checker.js';

const SECONDS = Number(process.env.FAULT_SECONDS ?? 7);

async function torture(name: string, defaultSeed: number, options: Partial<TortureOptions> & Pick<TortureOptions, 'faults'>) {
  const seed = process.env.RAFTLEDGER_SEED !== undefined ? Number(process.env.RAFTLEDGER_SEED) : defaultSeed;
  const lines: string[] = [];
  const result = await runTorture({ seed, durationMs: SECONDS * 1000, concurrency: 6, say: (l) => lines.push(l), ...options });
  const text = `${name}: seed ${seed}\n${lines.join('\n')}\n${formatSummary(result)}`;
  console.log(text);
  if (!result.ok) console.log(`${formatVerdict(result.verdict)}\n--- last server log lines ---\n${result.serverLog.slice(-60).join('\n')}`);
  return result;
}

describe('torture (short runs, fsync mode)', { timeout: 150_000 }, () => {
  it('kill: SIGKILL and restart of leader / follower / random replica', async () => {
    const r = await torture('kill', 101, { faults: ['kill'] });
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.nemesis.faults).toBeGreaterThan(0);
    expect(r.acknowledged).toBeGreaterThan(100);
  });

  it('pause: SIGSTOP longer than the election timeout, and rolling restarts', async () => {
    const r = await torture('pause', 102, { faults: ['pause', 'rolling'] });
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('partition: isolation, one-way, bridge, stall, delay and loss through the proxies', async () => {
    const r = await torture('partition', 103, { faults: ['partition'] });
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('disk: truncated tails, flipped bits, zeroed pages (refuse, then --repair)', async () => {
    const r = await torture('disk', 104, { faults: ['disk'] });
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('bitrot: bits flipped in older records of running and stopped replicas are repaired from peers, nothing lost (issue 16)', async () => {
    const r = await torture('bitrot', 108, { faults: ['bitrot'] });
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.nemesis.byKind.bitrot ?? 0).toBeGreaterThan(0);
    expect(r.nemesis.refusedToStart).toBe(0); // repaired in place, never cut with --repair
  });

  it('power: a replica loses every write it had not fsynced', async () => {
    const r = await torture('power', 105, { faults: ['power'] });
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.verdict.stats.lost).toBe(0);
  });
});

describe('torture (memory mode)', { timeout: 150_000 }, () => {
  it('process crashes lose nothing (the page cache survives a SIGKILL)', async () => {
    const r = await torture('memory-kill', 106, { faults: ['kill'], durability: 'memory' });
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.verdict.stats.allowedLoss).toBe(0);
  });

  it('a whole-cluster power loss loses at most what was not fsynced on a quorum', { timeout: 150_000 }, async () => {
    const r = await torture('memory-powerall', 107, { faults: ['powerall'], durability: 'memory' });
    // The checker allows losing exactly the acknowledged entries past the quorum-durable
    // position of each power loss, and nothing else.
    expect(r.verdict.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.nemesis.powerLosses.length).toBeGreaterThan(0);
  });
});

describe('torture through the retrying client (exactly-once appends, issue 14)', { timeout: 150_000 }, () => {
  it('kill with clientRetries idempotent: zero duplicates is part of the verdict', async () => {
    const r = await torture('kill-idempotent', 111, { faults: ['kill'], clientRetries: 'idempotent' });
    expect(r.verdict.violations).toEqual([]);
    expect(r.verdict.stats.duplicated).toBe(0);
    expect(r.verdict.stats.clientRetryDuplicates).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.acknowledged).toBeGreaterThan(100);
  });
});
