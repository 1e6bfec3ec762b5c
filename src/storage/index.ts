export { SegmentedLog, DEFAULT_SEGMENT_SIZE_BYTES, type SegmentedLogOptions, type AppendInput, type AppendResult, type ProducerSpan, type LogEntry, type RecoveryReport, type FlushedEvent, type OnFlushed, type DamagedRange, type DamagedRecord } from './segmented-log.js';
export { MetaStore, type MetaState, type Checkpoint } from './meta-store.js';
export { RecordType, HEADER_SIZE_BYTES, FLAG_PRODUCER, PRODUCER_HEADER_BYTES, writeProducerHeader, readProducerHeader, dataViewOf, type ProducerStamp } from './format.js';
export { crc32c, crc32cImplementation } from './crc32c.js';
export { verifyLog, type VerifyReport, type Damage } from './verify.js';
export { contiguousRuns, verifyRecordCrcs, producerRunsOfRecords, continuesProducerRun, type ProducerRun } from './received.js';
export { writeFileDurably, writeFileDurablySync } from './durable-file.js';
