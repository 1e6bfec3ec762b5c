/**
 * The one public shape of a log entry: what Ledger.read/readRange/tail, LedgerHost and the
 * network client's read hand out, and what the client protocol's read response carries.
 * Internal variants exist only where the shape differs: storage's LogEntry (payload `data`
 * plus the stored `record`) and the host's TransferredEntry (payload after a thread hop).
 */
import type { EntryType } from './raft/types.js';

export interface LedgerEntry {
  index: number;
  term: number;
  /** Absolute byte position of the entry's record in the log. */
  pos: number;
  /** 1 normal, 2 no-op, 3 config (docs/FORMAT.md). */
  type: EntryType;
  payload: Buffer;
}
