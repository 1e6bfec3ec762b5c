/** The public option and result types of SegmentedLog (re-exported by ../segmented-log.ts). */
import type { RecordType } from '../format.js';

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
  /** Create and prefault the next segment before it is needed (default true). */
  preallocate?: boolean;
  /** Receives human-readable notes about recovery (torn tail truncated, index rebuilt). */
  onNotice?: (message: string) => void;
}

export interface AppendInput {
  /** Must be lastIndex + 1 (then +1 per entry); omitted: assigned. */
  index?: number;
  term: number;
  type?: RecordType;
  data: Uint8Array;
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
  /** The payload (a copy: never a view of the mapping). */
  data: Buffer;
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
