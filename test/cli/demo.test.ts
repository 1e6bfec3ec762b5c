import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AckLog } from '../../src/cli/ack-log.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

describe('raftledger demo (npm start)', () => {
  it('runs the whole job: cluster, appends, leader kill, restart and catch-up, verification', () => {
    const r = spawnSync(process.execPath, [MAIN, 'demo', '--seconds', '1', '--concurrency', '16'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/leader elected: n\d/);
    expect(r.stdout).toMatch(/new leader: n\d \(term \d+\); appends succeeded again \d+ ms after the kill/);
    expect(r.stdout).toMatch(/caught up to index \d+/);
    expect(r.stdout).toContain('OK: no acknowledged entry lost, changed, duplicated or reordered.');
  });

  it('keeps track of far more acknowledgements than fit in one call\'s arguments', () => {
    // The demo once took Math.max(...all acked indexes), which overflowed the stack past ~120k.
    const log = new AckLog();
    const payload = Buffer.from('p');
    for (let i = 1; i <= 300_000; i++) log.record(i, i * 49, payload);
    log.record(7, 7 * 49, payload);
    expect(log.lastIndex).toBe(300_000);
    expect(log.size).toBe(300_000);
    expect(log.duplicates).toBe(1);
    expect(log.matches(5, 5 * 49, payload)).toBe(true);
    expect(log.matches(5, 5 * 49, Buffer.from('q'))).toBe(false);
    expect(log.sorted()[0]![0]).toBe(1);
  });
});
