/**
 * LedgerHost's startup check (startupCheck 'verify' | 'repair'): every group's log is checked
 * before it opens, as short piscina tasks on the worker threads (on the calling thread with
 * workers: 0). A one-node cluster writes real logs; one group's log is then damaged in the
 * middle, where recovery (which trusts the checkpoint) does not look.
 */
import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { LedgerHost, type LedgerHostOptions } from '../../dist/host/index.js';
import { reserveNodeAddresses } from '../../dist/tools/cluster/ports.js';
import { makeTempDir } from '../support/tmp.js';
import { waitUntil } from './helpers.js';

const GROUPS = 4;
const DAMAGED_GROUP = 3;
const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

async function setup(workers: number): Promise<{ options: (check: LedgerHostOptions['startupCheck'], lines?: string[]) => LedgerHostOptions; damagedIndex: number }> {
  const t = makeTempDir('raftledger-startup-check-');
  cleanups.push(t.cleanup);
  const peers = await reserveNodeAddresses(['a'], workers);
  const options = (startupCheck: LedgerHostOptions['startupCheck'], lines: string[] = []): LedgerHostOptions => ({
    dir: t.dir,
    id: 'a',
    peers,
    workers,
    groups: GROUPS,
    durability: 'fsync',
    segmentSizeBytes: 1024 * 1024,
    tickMs: 10,
    heartbeatTicks: 2,
    electionTicks: 5,
    startupCheck,
    log: (line) => lines.push(line),
  });
  const host = await LedgerHost.open(options('verify'));
  let damaged: { index: number; pos: number } | undefined;
  try {
    await waitUntil(async () => (await host.status()).groups.every((g) => g.role === 'leader'), 'every group of the one-node cluster to elect itself');
    for (let g = 0; g < GROUPS; g++) {
      const acks = await host.append(g, Array.from({ length: 100 }, (_, i) => Buffer.alloc(200, i & 0xff)), { copy: true });
      if (g === DAMAGED_GROUP) damaged = acks[49];
    }
  } finally {
    await host.close();
  }
  // One byte of the body of that entry, in the group's first (and only) segment.
  const logDir = join(t.dir, `group-${DAMAGED_GROUP}`, 'log');
  const segment = join(logDir, readdirSync(logDir).filter((f) => /^\d{20}$/.test(f)).sort()[0]!);
  const fd = openSync(segment, 'r+');
  writeSync(fd, Buffer.from([0x5a]), 0, 1, damaged!.pos + 100);
  closeSync(fd);
  return { options, damagedIndex: damaged!.index };
}

describe('LedgerHost startupCheck', () => {
  it('workers: 2 — verify refuses the damaged group; repair cuts it there; both run on worker threads', async () => {
    const { options, damagedIndex } = await setup(2);

    // Without a check the damage goes unnoticed at open: recovery trusts the checkpoint.
    const unchecked = await LedgerHost.open(options('none'));
    await unchecked.close();

    const refused: string[] = [];
    const error = await LedgerHost.open(options('verify', refused)).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).toBe('ERR_LOG_CORRUPT');
    expect(error?.message).toContain(`group ${DAMAGED_GROUP}:`);
    expect(error?.message).toContain('--repair');

    const lines: string[] = [];
    const host = await LedgerHost.open(options('repair', lines));
    try {
      const repairLine = lines.find((l) => l.includes('truncating the log from index'));
      expect(repairLine, lines.join('\n')).toContain(`group ${DAMAGED_GROUP} (thread `);
      expect(repairLine).toContain(`from index ${damagedIndex}`);
      const checkThread = Number(/\(thread (\d+)\)/.exec(repairLine!)![1]);
      expect(checkThread).not.toBe(threadId);
      const summary = lines.find((l) => l.includes('startup check of 4 group log(s)'));
      expect(summary, lines.join('\n')).toBeDefined();
      const status = await host.status(DAMAGED_GROUP);
      expect(status.lastIndex).toBeLessThan(damagedIndex + 1); // cut at the damage (a new no-op may follow)
      const entry = await host.read(DAMAGED_GROUP, damagedIndex - 1);
      expect(entry?.payload.equals(Buffer.alloc(200, 48))).toBe(true);
    } finally {
      await host.close();
    }
    // Repaired: verify passes now.
    const again = await LedgerHost.open(options('verify'));
    await again.close();
  });

  it('workers: 0 — the same check on the calling thread', async () => {
    const { options } = await setup(0);
    await expect(LedgerHost.open(options('verify'))).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPT' });
    await expect(LedgerHost.open(options('bogus' as never))).rejects.toThrow(RangeError);
  });
});
