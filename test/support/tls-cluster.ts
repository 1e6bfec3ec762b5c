/**
 * The 3-process cluster of the TLS tests (test/server/tls*.test.ts): mutual TLS between
 * peers and --client-auth tls, every node on certificate files of its own (so one node can
 * be rotated alone), a client certificate of the cluster CA, and an unrelated CA.
 */
import type { LocalClusterOptions } from '../../dist/tools/cluster/local-cluster.js';
import { startCluster, waitUntil, type TestCluster } from './process-cluster.js';
import { certAuthority, copyLeaf, liveCerts, type CertAuthority, type LeafFiles } from './certs.js';

export interface TlsCluster {
  /** The cluster CA (dispose it to remove every certificate, the others' too). */
  ca: CertAuthority;
  /** Another CA in ca's directory: its certificates must be refused. */
  other: CertAuthority;
  /** Per node id: the certificate files the node was started on. */
  live: Record<string, LeafFiles>;
  /** The client certificate the cluster's client uses. */
  clientCert: LeafFiles;
  tc: TestCluster;
}

/** Starts the cluster with `options` (over the TLS flags) and a client on clientCert. */
export async function startTlsCluster(options: Partial<LocalClusterOptions> = {}): Promise<TlsCluster> {
  const ca = certAuthority('cluster');
  const other = certAuthority('other', ca.dir);
  const live = liveCerts(ca, ['n0', 'n1', 'n2']);
  const clientCert = ca.issue('client');
  try {
    const tc = await startCluster(
      {
        ...options,
        serverArgs: ['--client-auth', 'tls'],
        serverArgsFor: (id) => ['--tls-cert', live[id]!.cert, '--tls-key', live[id]!.key, '--tls-ca', live[id]!.ca],
      },
      { tls: clientCert },
    );
    return { ca, other, live, clientCert, tc };
  } catch (error) {
    ca.dispose(); // the caller never sees ca, so cannot
    throw error;
  }
}

/** Overwrites `id`'s certificate files with ones of a new CA ('rotated', in ca's directory), sends it SIGHUP and waits (bounded) for its reload line; returns the new CA. */
export async function rotateNode(t: Pick<TlsCluster, 'ca' | 'live' | 'tc'>, id: string): Promise<CertAuthority> {
  const rotated = certAuthority('rotated', t.ca.dir);
  copyLeaf(rotated.issue(id), t.live[id]!);
  await t.tc.cluster.kill(id, 'SIGHUP');
  await waitUntil(() => t.tc.logs.some((l) => l.startsWith(`${id} |`) && l.includes('TLS material and token reloaded')), `${id} logs the reload`);
  return rotated;
}

/** Stops what startTlsCluster started (either may be missing when it failed half-way). */
export async function stopTlsCluster(tc: TestCluster | undefined, ca: CertAuthority | undefined): Promise<void> {
  await tc?.close();
  ca?.dispose();
}
