// Record scanner (docs/FORMAT.md), shared by NativeSegment.scan, scanRecords,
// findValidRecord, sealRecords and findBadRecordCrc.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace rl {

enum class ScanStop { End, Zeros, Short, Padding, SlotsFull, Invalid };
enum class InvalidReason { None, Magic, Version, Type, Flags, Size, Pos, Index, Term, Crc, NonzeroTail };

struct ScanParams {
  // Segment scans: `data` is the whole mapping (dataLen bytes = the segment size). A padding
  // record is then always allowed, and fewer than 48 bytes before the segment end must be zero.
  bool segment = false;
  bool hasBasePos = false;
  uint64_t basePos = 0;  // pos of the byte at `start`
  bool hasSegmentSize = false;
  uint64_t segmentSize = 0;
  bool hasExpectedIndex = false;
  uint64_t expectedIndex = 0;
  bool hasMinTerm = false;
  uint64_t minTerm = 0;
  uint8_t* slots = nullptr;
  size_t slotsLen = 0;
  bool hasMaxRecords = false;
  uint64_t maxRecords = 0;
};

struct ScanOutcome {
  uint64_t end = 0;
  uint64_t count = 0;
  uint64_t firstIndex = 0;
  uint64_t lastIndex = 0;
  uint64_t lastTerm = 0;
  uint64_t bodyBytes = 0;
  ScanStop stop = ScanStop::End;
  InvalidReason reason = InvalidReason::None;
  uint64_t invalidOffset = 0;
};

// Requires start <= end <= dataLen (checked by the callers).
ScanOutcome ScanRecords(const uint8_t* data, size_t dataLen, size_t start, size_t end, const ScanParams& p);

// First offset o in [start, end - 48] holding a valid record (structure, CRC, and
// pos == segmentBase + o) in a segment mapping of dataLen bytes; -1 when there is none.
int64_t FindValidRecord(const uint8_t* data, size_t dataLen, size_t start, size_t end, uint64_t segmentBase);

// JS glue.
ScanParams ParseScanOptions(Napi::Env env, Napi::Value options);
Napi::Object ScanOutcomeToJs(Napi::Env env, const ScanOutcome& r);
Napi::Value JsScanRecords(const Napi::CallbackInfo& info);
Napi::Value JsSealRecords(const Napi::CallbackInfo& info);
// findBadRecordCrc(data, start, end): offset of the first record in [start, end) whose CRC
// does not match (or that cannot be walked: totalSize < 48 or past end), or -1.
Napi::Value JsFindBadRecordCrc(const Napi::CallbackInfo& info);

}  // namespace rl
