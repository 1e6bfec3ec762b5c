/** The public option and result types of SegmentedLog (re-exported by ../segmented-log.ts). */
import type { DirOwner } from '../identity.js';
import type { ProducerStamp, RecordType } from '../format.js';

export interface SegmentedLogOptions {
  dir: string;
  /** Size of each data segment (new logs; an existing log keeps its own and a different value is ERR_BAD_CONFIG). */
  segmentSizeBytes?: number;
  /** Slots per index file (new logs only). */
  indexSlotsPerFile?: number;
  /** Largest payload accepted by append (default: min(segment size - 48, 64 MiB)). */
  maxEntrySizeBytes?: number;
  /** Create the log when `dir` holds none (default true). */
  create?: boolean;
  /** Map everything read-only; recovery happens in memory only (inspect, dump). */
  readOnly?: boolean;
  /** On mid-log damage found by recovery, truncate from there instead of failing with ERR_LOG_CORRUPT. */
  truncateCorrupt?: boolean;
  /** Minimum time between recovery checkpoints (default 1000 ms). */
  checkpointIntervalMs?: number;
  /** Create the next segment before it is needed (default true). */
  preallocate?: boolean;
  /** Receives human-readable notes about recovery (torn tail truncated, index rebuilt). */
  onNotice?: (message: string) => void;
  /** The replica opening the log: stored in a new log, checked (ERR_FOREIGN_DIR) or adopted in an existing one (identity.ts claimOwner). */
  owner?: DirOwner;
  /**
   * Called after every successful flush (the recovery flush at open included), once the
   * bytes up to `flushedPos` are durable. Test tooling installs it (the torture harness's
   * fsync journal, for simulated power loss); production leaves it unset. It runs
   * synchronously inside flush(): a throw rejects that flush() call (the log is not latched).
   */
  onFlushed?: OnFlushed;
}

export interface FlushedEvent {
  /** The log's directory (SegmentedLogOptions.dir). */
  dir: string;
  flushedIndex: number;
  flushedPos: number;
}

export type OnFlushed = (event: FlushedEvent) => void;

export interface AppendInput {
  /** Must be lastIndex + 1 (then +1 per entry); omitted: assigned. */
  index?: number;
  term: number;
  type?: RecordType;
  /** The payload (an entry of a ProducerSpan: the record's body is the producer header, then this). */
  data: Uint8Array;
}

/**
 * Entries offset .. offset + count - 1 of one appendEntries call are written as FLAG_PRODUCER
 * records (docs/FORMAT.md "Producer header") of `stamp`'s producer and epoch, sequences
 * stamp.sequence + 0, + 1, ...: one span per batch of one producer, not an object per entry.
 */
export interface ProducerSpan {
  offset: number;
  count: number;
  stamp: ProducerStamp;
}

export interface AppendRecordsOptions {
  /**
   * The records' structure and CRCs were checked when they arrived (the transport's
   * decoder, storage/records.ts, then Ledger.receive, storage/received.ts), so they are not
   * checked again: only their fit with this log is (indexes continue lastIndex, terms do
   * not decrease, placement, the entry size limit). Default false: everything is checked.
   */
  checkedOnArrival?: boolean;
}

export interface AppendResult {
  firstIndex: number;
  /** pos of each appended record. */
  positions: number[];
  /** Each record's on-disk bytes (views of one buffer; treat as read-only). */
  records: Uint8Array[];
}

export interface LogEntry {
  index: number;
  term: number;
  type: RecordType;
  pos: number;
  /** The payload (a copy: never a view of the mapping); a producer header is not part of it. */
  data: Buffer;
  /** The producer header of a FLAG_PRODUCER record (docs/FORMAT.md, "Producer header"). */
  producer?: ProducerStamp;
  /** The whole record as stored: header + payload. `data` is a view of it. */
  record: Buffer;
}

export interface RecoveryReport {
  /** Where the scan started (absolute pos) and whether a checkpoint was used. */
  scanFromPos: number;
  usedCheckpoint: boolean;
  scannedRecords: number;
  scannedBytes: number;
  /** Set when a torn or damaged tail was cut off. */
  truncatedAtPos?: number;
  truncatedReason?: string;
  indexRebuilt: boolean;
}
