/**
 * Throwaway certificates for TLS tests and `raftledger bench --tls`, made with the openssl
 * command line into a temp directory the caller removes (certAuthority().dispose()), or
 * into a given directory the caller owns. Never for production use.
 *
 * Every leaf certificate has CN = its name and subjectAltName DNS:<name>, DNS:localhost,
 * IP:127.0.0.1, so it passes both the node-id check of the Raft port and a client's host
 * name check against 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LeafFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface CertAuthority {
  dir: string;
  /** The CA certificate file. */
  ca: string;
  /** A key and a certificate for `name`, signed by this CA (files in dir). */
  issue(name: string): LeafFiles;
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new CA (EC P-256, 1 day) in `dir` (a fresh temp dir by default; prefix names its files). */
export function certAuthority(label = 'ca', dir?: string): CertAuthority {
  const root = dir ?? mkdtempSync(join(tmpdir(), 'raftledger-certs-'));
  const caKey = join(root, `${label}.key`);
  const ca = join(root, `${label}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', ca, '-days', '1', '-subj', `/CN=${label} test CA`], root);
  return {
    dir: root,
    ca,
    issue(name: string): LeafFiles {
      const key = join(root, `${label}-${name}.key`);
      const csr = join(root, `${label}-${name}.csr`);
      const cert = join(root, `${label}-${name}.crt`);
      const ext = join(root, `${label}-${name}.ext`);
      writeFileSync(ext, `subjectAltName=DNS:${name},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], root);
      openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext], root);
      return { cert, key, ca };
    },
    dispose(): void {
      if (dir === undefined) rmSync(root, { recursive: true, force: true });
    },
  };
}
