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
  /**
   * 'normal' (an appended payload), 'noop' (the leader's empty entry at the start of each
   * term, index 1 included) or 'config' (a membership change). Storage, Raft and the wire
   * keep the byte 1/2/3 (docs/FORMAT.md); it is named at the API boundary (entryTypeName).
   */
  type: EntryTypeName;
  payload: Buffer;
}

/** The names of the entry types, as `raftledger dump` prints them. */
export type EntryTypeName = 'normal' | 'noop' | 'config';

const TYPE_NAMES: readonly (EntryTypeName | undefined)[] = [undefined, 'normal', 'noop', 'config'];

/** The name of an entry's `type` (1 normal, 2 noop, 3 config); RangeError for any other value. */
export function entryTypeName(type: EntryType): EntryTypeName {
  const name = TYPE_NAMES[type];
  if (name === undefined) throw new RangeError(`entry type must be 1..3, got ${String(type)}`);
  return name;
}

const TYPE_CODES: Readonly<Record<EntryTypeName, EntryType>> = { normal: 1, noop: 2, config: 3 };

/** The byte of a named entry type (the inverse of entryTypeName); RangeError for any other value. */
export function entryTypeCode(name: EntryTypeName): EntryType {
  const code = Object.hasOwn(TYPE_CODES, name) ? TYPE_CODES[name] : undefined;
  if (code === undefined) throw new RangeError(`entry type must be 'normal', 'noop' or 'config', got ${String(name)}`);
  return code;
}
