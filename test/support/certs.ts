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
    const files = { cert: join(ca.dir, `live-${id}.crt`), key: join(ca.dir, `live-${id}.key`), ca: join(ca.dir, `live-${id}-ca.crt`) };
    copyLeaf(ca.issue(id), files);
    live[id] = files;
  }
  return live;
}

/** Copies a certificate, its key and its CA file over the files `to` names (a rotation on disk). */
export function copyLeaf(from: Leaf, to: Leaf): void {
  copyFileSync(from.cert, to.cert);
  copyFileSync(from.key, to.key);
  copyFileSync(from.ca, to.ca);
}
