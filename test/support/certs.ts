/** Throwaway certificates for TLS tests (openssl, temp dir): see src/tools/cluster/test-certs.ts. */
export { certAuthority, type CertAuthority, type LeafFiles } from '../../dist/tools/cluster/test-certs.js';
