/** Throwaway certificates for TLS tests (openssl, temp dir): see src/tools/cluster/test-certs.ts. */
export { certAuthority, type CertAuthority, type LeafFiles } from '../../dist/tools/cluster/test-certs.js';

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertAuthority as Authority, LeafFiles as Leaf } from '../../dist/tools/cluster/test-certs.js';

/**
 * A certificate of `ca` per node id, copied to paths of that node's own (live-ID.crt/.key,
 * live-ID-ca.crt in ca.dir), so one node's files can be rotated without touching the others'.
 */
export function liveCerts(ca: Authority, ids: readonly string[]): Record<string, Leaf> {
  const live: Record<string, Leaf> = {};
  for (const id of ids) {
    const issued = ca.issue(id);
    const files = { cert: join(ca.dir, `live-${id}.crt`), key: join(ca.dir, `live-${id}.key`), ca: join(ca.dir, `live-${id}-ca.crt`) };
    copyFileSync(issued.cert, files.cert);
    copyFileSync(issued.key, files.key);
    copyFileSync(issued.ca, files.ca);
    live[id] = files;
  }
  return live;
}
