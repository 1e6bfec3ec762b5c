/** A LedgerHost node's cluster uid (replica/cluster-id.ts), kept in `<dir>/cluster-id` for all its groups. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CLUSTER_ID, groupDir } from '../replica/group-set.js';
import { resolveClusterUid } from '../replica/cluster-id.js';
import { IDENTITY_FILE } from '../storage/identity.js';
import type { LedgerHostOptions } from './host-types.js';

/** Stored, joined, adopted (a group log from before cluster uids exists) or derived from the voters of `peers`. */
export function nodeClusterUid(o: LedgerHostOptions, groups: readonly number[], log: (line: string) => void): string {
  const voters = Object.keys(o.peers).filter((id) => o.learners?.includes(id) !== true);
  const resolved = resolveClusterUid({
    dir: o.dir,
    name: o.clusterId ?? DEFAULT_CLUSTER_ID,
    voters,
    joining: o.clusterUid,
    existing: groups.some((g) => existsSync(join(groupDir(o.dir, g), IDENTITY_FILE))),
    log: (line) => log(`[${o.id}] ${line}`),
  });
  resolved.store?.();
  return resolved.uid;
}
