/**
 * The one bridge between the Raft core's EntryType (src/raft/types.ts) and the storage
 * RecordType (src/storage/format.ts). They use the same numbers, the on-disk `type` byte
 * (docs/FORMAT.md), and test/storage/records.test.ts checks that they match; code that
 * turns a record into an entry calls entryTypeOf instead of casting. It lives in
 * transport/ because that is the layer allowed to import both raft/types and storage's
 * record format (the replica imports it from here).
 */
import { EntryType } from '../raft/types.js';
import { RecordType } from '../storage/format.js';

const ENTRY_TYPE_OF_RECORD: readonly (EntryType | undefined)[] = (() => {
  const table: (EntryType | undefined)[] = [];
  table[RecordType.Normal] = EntryType.Normal;
  table[RecordType.Noop] = EntryType.Noop;
  table[RecordType.Config] = EntryType.Config;
  return table;
})();

/** The EntryType of a data record's type; RangeError for padding or an unknown type (callers check structure first). */
export function entryTypeOf(type: RecordType): EntryType {
  const entryType = ENTRY_TYPE_OF_RECORD[type];
  if (entryType === undefined) throw new RangeError(`record type ${String(type)} is not an entry type`);
  return entryType;
}
