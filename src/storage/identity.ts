/**
 * `raftledger.json`, the identity file that makes a directory a raftledger log
 * (docs/FORMAT.md): format, version, and the sizes the log was created with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError } from '../errors.js';

export const IDENTITY_FILE = 'raftledger.json';
export const MIN_SEGMENT_SIZE_BYTES = 4096;

export interface Identity {
  format: 'raftledger';
  version: number;
  segmentSizeBytes: number;
  indexSlotsPerFile: number;
  createdAt: string;
}

/** The identity of the log in `dir`, or undefined when `dir` holds none. Throws ERR_NOT_A_LOG / ERR_LOG_CORRUPT for a bad file. */
export function readIdentity(dir: string): Identity | undefined {
  const path = join(dir, IDENTITY_FILE);
  if (!existsSync(path)) return undefined;
  let identity: Identity;
  try {
    identity = JSON.parse(readFileSync(path, 'utf8')) as Identity;
  } catch (error) {
    throw new RaftLedgerError('ERR_NOT_A_LOG', `${path} is not a valid raftledger identity file`, { path, cause: error });
  }
  if (identity?.format !== 'raftledger' || identity.version !== 1) {
    throw new RaftLedgerError('ERR_NOT_A_LOG', `${path}: unsupported format ${JSON.stringify(identity?.format)} version ${String(identity?.version)}`, { path });
  }
  if (!Number.isSafeInteger(identity.segmentSizeBytes) || identity.segmentSizeBytes < MIN_SEGMENT_SIZE_BYTES) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: bad segmentSizeBytes`, { path });
  }
  if (!Number.isSafeInteger(identity.indexSlotsPerFile) || identity.indexSlotsPerFile < 1) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: bad indexSlotsPerFile`, { path });
  }
  return identity;
}
