/**
 * Issue 11 item 2: a replica's log directory knows whose it is (raftledger.json `owner`:
 * node, cluster, group) and refuses to be opened as another with ERR_FOREIGN_DIR naming both;
 * a directory from before owners existed is adopted on its first replica open.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger, SegmentedLog, isRaftLedgerError } from '../../src/index.js';
import { IDENTITY_FILE, type Identity } from '../../src/storage/identity.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-owner-');
const SEG = 64 * 1024;
const n0 = { nodeId: 'n0', clusterId: 'alpha', group: 3 };

function identityOf(dir: string): Identity {
  return JSON.parse(readFileSync(join(dir, IDENTITY_FILE), 'utf8')) as Identity;
}

async function errorOf(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

describe('directory owner', () => {
  it('is stored at creation and checked on every later open: another node, cluster or group is ERR_FOREIGN_DIR naming both', async () => {
    const dir = tempDir();
    await (await SegmentedLog.open({ dir, segmentSizeBytes: SEG, owner: n0 })).close();
    expect(identityOf(dir).owner).toEqual(n0);
    await (await SegmentedLog.open({ dir, owner: n0 })).close();
    for (const other of [
      { ...n0, nodeId: 'n1' },
      { ...n0, clusterId: 'beta' },
      { ...n0, group: 4 },
    ]) {
      const error = await errorOf(() => SegmentedLog.open({ dir, owner: other }));
      expect(isRaftLedgerError(error, 'ERR_FOREIGN_DIR'), error.message).toBe(true);
      expect(error.message).toContain(dir);
      expect(error.message).toContain('belongs to node "n0" of cluster "alpha", group 3');
      expect(error.message).toContain(`as node ${JSON.stringify(other.nodeId)} of cluster ${JSON.stringify(other.clusterId)}, group ${other.group}`);
      // Refused before anything was written, and the lock was released.
      expect(identityOf(dir).owner).toEqual(n0);
    }
    // Read-only opens are refused as another owner too; opens that name no owner (tools) are not.
    expect((await errorOf(() => SegmentedLog.open({ dir, readOnly: true, owner: { ...n0, nodeId: 'n1' } })) as { code?: string }).code).toBe('ERR_FOREIGN_DIR');
    await (await SegmentedLog.open({ dir, readOnly: true })).close();
    await (await SegmentedLog.open({ dir })).close();
  });

  it('a log without owner (created before owners existed) is adopted by its first replica open, and then belongs to it', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG });
    log.append([Buffer.from('old')], 1);
    await log.close();
    expect(identityOf(dir).owner).toBeUndefined();
    await (await SegmentedLog.open({ dir, readOnly: true, owner: n0 })).close();
    expect(identityOf(dir).owner, 'a read-only open never writes').toBeUndefined();
    const adopted = await SegmentedLog.open({ dir, owner: n0 });
    expect(adopted.lastIndex).toBe(1);
    await adopted.close();
    const identity = identityOf(dir);
    expect(identity.owner).toEqual(n0);
    expect(identity.segmentSizeBytes).toBe(SEG);
    expect((await errorOf(() => SegmentedLog.open({ dir, owner: { ...n0, nodeId: 'n9' } })) as { code?: string }).code).toBe('ERR_FOREIGN_DIR');
  });

  it('a malformed owner in the file is ERR_LOG_CORRUPT; a malformed owner option is a TypeError', async () => {
    const dir = tempDir();
    await (await SegmentedLog.open({ dir, segmentSizeBytes: SEG })).close();
    expect((await errorOf(() => SegmentedLog.open({ dir, owner: { nodeId: '', clusterId: 'c', group: 0 } }))).name).toBe('TypeError');
    expect((await errorOf(() => SegmentedLog.open({ dir, owner: { nodeId: 'n0', clusterId: 'c', group: -1 } }))).name).toBe('TypeError');
    expect(identityOf(dir).owner).toBeUndefined();
    writeFileSync(join(dir, IDENTITY_FILE), JSON.stringify({ ...identityOf(dir), owner: { nodeId: 7 } }));
    expect((await errorOf(() => SegmentedLog.open({ dir })) as { code?: string }).code).toBe('ERR_LOG_CORRUPT');
  });

  it('Ledger.open stores its id, cluster id and group, and refuses the directory as another node or cluster', async () => {
    const dir = tempDir();
    const base = { dir, link: { send: () => {} }, segmentSizeBytes: SEG, tickMs: 5, group: 2 };
    const ledger = await Ledger.open({ ...base, id: 'n0', members: ['n0'], clusterId: 'alpha' });
    await ledger.close();
    expect(identityOf(dir).owner).toEqual({ nodeId: 'n0', clusterId: 'alpha', group: 2 });
    const asOtherNode = await errorOf(() => Ledger.open({ ...base, id: 'n1', members: ['n1'], clusterId: 'alpha' }));
    expect((asOtherNode as { code?: string }).code).toBe('ERR_FOREIGN_DIR');
    expect(asOtherNode.message).toContain('"n0"');
    expect(asOtherNode.message).toContain('"n1"');
    const asDefaultCluster = await errorOf(() => Ledger.open({ ...base, id: 'n0', members: ['n0'] }));
    expect((asDefaultCluster as { code?: string }).code).toBe('ERR_FOREIGN_DIR');
    expect(asDefaultCluster.message).toContain('"raftledger"');
    const again = await Ledger.open({ ...base, id: 'n0', members: ['n0'], clusterId: 'alpha' });
    await again.close();
  });
});
