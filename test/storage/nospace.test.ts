import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { SegmentedLog, isRaftLedgerError } from '../../src/index.js';
import { makeTempDir } from '../support/tmp.js';

// A size-limited tmpfs needs root; elsewhere the test is skipped (CI runs as root).
const t = makeTempDir('raftledger-nospace-');
let mounted = false;
beforeAll(() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', t.dir], { stdio: 'ignore' });
    mounted = true;
  } catch {
    mounted = false;
  }
});
afterAll(() => {
  if (mounted) execFileSync('umount', [t.dir], { stdio: 'ignore' });
  t.cleanup();
});

describe('out of space', () => {
  it('reports ERR_NO_SPACE and the log reopens with everything that was durable', async (ctx) => {
    if (!mounted) ctx.skip();
    const dir = `${t.dir}/log`;
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: 256 * 1024, indexSlotsPerFile: 1024, preallocate: false });
    let appended = 0;
    let error: unknown;
    try {
      for (let i = 0; i < 100_000; i++) {
        log.append(Buffer.alloc(1000, i & 0xff), 1);
        appended++;
        if (i % 50 === 0) await log.flush();
      }
    } catch (e) {
      error = e;
    }
    expect(isRaftLedgerError(error, 'ERR_NO_SPACE'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/segment/);
    await log.flush();
    await log.close();
    const again = await SegmentedLog.open({ dir });
    expect(again.lastIndex).toBe(appended);
    expect(again.read(appended).data.equals(Buffer.alloc(1000, (appended - 1) & 0xff))).toBe(true);
    await again.close();
  });
});
