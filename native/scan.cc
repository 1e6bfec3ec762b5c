// Recovery scanner: walks records per docs/FORMAT.md and checks structure, position,
// index continuity, term order and CRC32C. The per-record work besides the CRC is a few
// loads and compares, so a scan runs at CRC speed.
#include "scan.h"

#include <string>

#include "crc32c.h"
#include "errors.h"
#include "format.h"

namespace rl {

using namespace fmt;

namespace {

inline bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

inline bool HeaderIsZero(const uint8_t* h) {
  return (Load64(h) | Load64(h + 8) | Load64(h + 16) | Load64(h + 24) | Load64(h + 32) | Load64(h + 40)) == 0;
}

inline uint32_t RecordCrc(const uint8_t* h, uint32_t bodyLen) {
  const uint32_t c = Crc32c(h, kCrcCoveredHeader, 0);
  return bodyLen ? Crc32c(h + kHeaderSize, bodyLen, c) : c;
}

// Checks that do not depend on the neighbours (no index continuity or term order).
// `limit`: a non-padding record must end at or before it. `paddingTotal`: the totalSize
// a padding record must have (0: padding not allowed here). `paddingLimit`: a padding
// record must end at or before it.
struct Ctx {
  uint64_t limit;
  uint64_t paddingTotal;
  bool paddingAllowed;
  uint64_t paddingLimit;
  bool hasPos;
  uint64_t expectedPos;
};

inline InvalidReason CheckStructure(const uint8_t* h, uint64_t o, const Ctx& c) {
  if (Load32(h + kOffMagic) != kMagic) return InvalidReason::Magic;
  if (h[kOffVersion] != kVersion) return InvalidReason::Version;
  const uint8_t type = h[kOffType];
  if (type > kMaxType) return InvalidReason::Type;
  // `reserved` has no reason of its own: it is reported as 'flags' (reserved bits).
  const uint16_t flags = Load16(h + kOffFlags);
  if ((flags & ~kFlagProducer) != 0 || Load32(h + kOffReserved) != 0) return InvalidReason::Flags;
  const uint64_t total = Load32(h + kOffTotalSize);
  const uint64_t body = Load32(h + kOffBodySize);
  // A producer header only on a Normal record whose body holds it.
  if (flags != 0 && (type != kTypeNormal || body < kProducerHeaderSize)) return InvalidReason::Flags;
  if (type == kTypePadding) {
    if (!c.paddingAllowed) return InvalidReason::Type;
    if (body != 0 || total != c.paddingTotal || total < kHeaderSize || o + total > c.paddingLimit)
      return InvalidReason::Size;
  } else {
    if (total != kHeaderSize + body || o + total > c.limit) return InvalidReason::Size;
  }
  const uint64_t pos = Load64(h + kOffPos);
  if (c.hasPos ? pos != c.expectedPos : pos > kMaxSafeInteger) return InvalidReason::Pos;
  return InvalidReason::None;
}

}  // namespace

ScanOutcome ScanRecords(const uint8_t* data, size_t dataLen, size_t start, size_t end, const ScanParams& p) {
  ScanOutcome r;
  uint64_t o = start;
  uint64_t prevIndex = 0, prevTerm = 0;
  const bool paddingAllowed = p.segment || (p.hasBasePos && p.hasSegmentSize);
  auto invalid = [&](InvalidReason why) {
    r.stop = ScanStop::Invalid;
    r.reason = why;
    r.invalidOffset = o;
  };
  for (;;) {
    r.end = o;
    if (o >= end) {
      r.stop = ScanStop::End;
      break;
    }
    if (p.hasMaxRecords && r.count >= p.maxRecords) {
      r.stop = ScanStop::End;
      break;
    }
    const uint64_t rem = end - o;
    if (rem < kHeaderSize) {
      // Segment scans reaching the segment end: a tail too small for a record must be zeros.
      if (p.segment && end == dataLen && !AllZero(data + o, rem)) {
        invalid(InvalidReason::NonzeroTail);
      } else {
        r.stop = ScanStop::Short;
      }
      break;
    }
    const uint8_t* h = data + o;
    if (HeaderIsZero(h)) {
      r.stop = ScanStop::Zeros;
      break;
    }
    Ctx c;
    c.limit = end;
    c.hasPos = p.hasBasePos;
    c.expectedPos = p.basePos + (o - start);
    c.paddingAllowed = paddingAllowed;
    if (p.hasBasePos && p.hasSegmentSize) {
      c.paddingTotal = p.segmentSize - (c.expectedPos % p.segmentSize);
    } else {
      c.paddingTotal = dataLen - o;  // segment scan: bytes to the segment end
    }
    // A padding record's body is never read: in a buffer it may extend past `end` (to the
    // segment end); in a segment it must end at the segment end.
    c.paddingLimit = p.segment ? dataLen : UINT64_MAX;
    InvalidReason why = CheckStructure(h, o, c);
    if (why != InvalidReason::None) {
      invalid(why);
      break;
    }
    const uint8_t type = h[kOffType];
    const uint32_t total = Load32(h + kOffTotalSize);
    const uint32_t body = Load32(h + kOffBodySize);
    const uint64_t index = Load64(h + kOffIndex);
    const uint64_t term = Load64(h + kOffTerm);
    if (type == kTypePadding) {
      if (index != 0) {
        invalid(InvalidReason::Index);
        break;
      }
      if (term != 0) {
        invalid(InvalidReason::Term);
        break;
      }
      if (RecordCrc(h, 0) != Load32(h + kOffCrc)) {
        invalid(InvalidReason::Crc);
        break;
      }
      r.stop = ScanStop::Padding;
      r.end = o + total;
      break;
    }
    const bool first = r.count == 0;
    if (index == 0 || index > kMaxSafeInteger || (first ? (p.hasExpectedIndex && index != p.expectedIndex)
                                                        : index != prevIndex + 1)) {
      invalid(InvalidReason::Index);
      break;
    }
    if (term > kMaxSafeInteger || (first ? (p.hasMinTerm && term < p.minTerm) : term < prevTerm)) {
      invalid(InvalidReason::Term);
      break;
    }
    const uint32_t crc = Load32(h + kOffCrc);
    if (RecordCrc(h, body) != crc) {
      invalid(InvalidReason::Crc);
      break;
    }
    if (p.slots) {
      if ((r.count + 1) * kSlotSize > p.slotsLen) {
        r.stop = ScanStop::SlotsFull;
        break;
      }
      uint8_t* s = p.slots + r.count * kSlotSize;
      Store64(s + kSlotOffPos, Load64(h + kOffPos));
      Store64(s + kSlotOffTerm, term);
      Store32(s + kSlotOffSize, total);
      Store32(s + kSlotOffCrc, crc);
    }
    if (first) r.firstIndex = index;
    r.lastIndex = index;
    r.lastTerm = term;
    r.bodyBytes += body;
    r.count++;
    prevIndex = index;
    prevTerm = term;
    o += total;
  }
  return r;
}

int64_t FindValidRecord(const uint8_t* data, size_t dataLen, size_t start, size_t end, uint64_t segmentBase) {
  if (end < kHeaderSize || start > end - kHeaderSize) return -1;
  const uint8_t m0 = static_cast<uint8_t>(kMagic & 0xFF);
  const uint8_t* cur = data + start;
  const uint8_t* last = data + (end - kHeaderSize);  // last possible header start
  while (cur <= last) {
    const void* hit = std::memchr(cur, m0, static_cast<size_t>(last - cur) + 1);
    if (!hit) return -1;
    const uint8_t* h = static_cast<const uint8_t*>(hit);
    const uint64_t o = static_cast<uint64_t>(h - data);
    if (Load32(h) == kMagic) {
      Ctx c;
      c.limit = end;
      c.paddingAllowed = true;
      c.paddingTotal = dataLen - o;
      c.paddingLimit = dataLen;
      c.hasPos = true;
      c.expectedPos = segmentBase + o;
      if (CheckStructure(h, o, c) == InvalidReason::None) {
        const bool padding = h[kOffType] == kTypePadding;
        const uint64_t index = Load64(h + kOffIndex), term = Load64(h + kOffTerm);
        const bool fieldsOk = padding ? (index == 0 && term == 0)
                                      : (index != 0 && index <= kMaxSafeInteger && term <= kMaxSafeInteger);
        const uint32_t body = padding ? 0 : Load32(h + kOffBodySize);
        if (fieldsOk && RecordCrc(h, body) == Load32(h + kOffCrc)) return static_cast<int64_t>(o);
      }
    }
    cur = h + 1;
  }
  return -1;
}

// ---------------------------------------------------------------------------- JS glue

namespace {

const char* StopName(ScanStop s) {
  switch (s) {
    case ScanStop::End: return "end";
    case ScanStop::Zeros: return "zeros";
    case ScanStop::Short: return "short";
    case ScanStop::Padding: return "padding";
    case ScanStop::SlotsFull: return "slots-full";
    case ScanStop::Invalid: return "invalid";
  }
  return "invalid";
}

const char* ReasonName(InvalidReason r) {
  switch (r) {
    case InvalidReason::Magic: return "magic";
    case InvalidReason::Version: return "version";
    case InvalidReason::Type: return "type";
    case InvalidReason::Flags: return "flags";
    case InvalidReason::Size: return "size";
    case InvalidReason::Pos: return "pos";
    case InvalidReason::Index: return "index";
    case InvalidReason::Term: return "term";
    case InvalidReason::Crc: return "crc";
    case InvalidReason::NonzeroTail: return "nonzero-tail";
    case InvalidReason::None: break;
  }
  return "none";
}

bool OptionalUint(Napi::Env env, Napi::Object o, const char* key, uint64_t* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return false;
  *out = GetUint(env, v, key);
  return true;
}

}  // namespace

ScanParams ParseScanOptions(Napi::Env env, Napi::Value options) {
  ScanParams p;
  if (options.IsUndefined() || options.IsNull()) return p;
  if (!options.IsObject()) ThrowTypeError(env, "options must be an object");
  Napi::Object o = options.As<Napi::Object>();
  p.hasBasePos = OptionalUint(env, o, "basePos", &p.basePos);
  p.hasSegmentSize = OptionalUint(env, o, "segmentSizeBytes", &p.segmentSize);
  if (p.hasSegmentSize && p.segmentSize == 0) ThrowRangeError(env, "segmentSizeBytes must be > 0");
  p.hasExpectedIndex = OptionalUint(env, o, "expectedIndex", &p.expectedIndex);
  p.hasMinTerm = OptionalUint(env, o, "minTerm", &p.minTerm);
  p.hasMaxRecords = OptionalUint(env, o, "maxRecords", &p.maxRecords);
  Napi::Value slots = o.Get("slotsOut");
  if (!slots.IsUndefined()) {
    Bytes b = GetBytes(env, slots, "slotsOut");
    p.slots = b.data;
    p.slotsLen = b.length;
    if (!p.slots) p.slotsLen = 0;
    if (p.slots == nullptr) {
      // An empty array: any record needs a slot, so the scan stops at the first record.
      static uint8_t dummy[1];
      p.slots = dummy;
    }
  }
  return p;
}

Napi::Object ScanOutcomeToJs(Napi::Env env, const ScanOutcome& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("end", Napi::Number::New(env, static_cast<double>(r.end)));
  o.Set("count", Napi::Number::New(env, static_cast<double>(r.count)));
  o.Set("firstIndex", Napi::Number::New(env, static_cast<double>(r.firstIndex)));
  o.Set("lastIndex", Napi::Number::New(env, static_cast<double>(r.lastIndex)));
  o.Set("lastTerm", Napi::Number::New(env, static_cast<double>(r.lastTerm)));
  o.Set("bodyBytes", Napi::Number::New(env, static_cast<double>(r.bodyBytes)));
  o.Set("stop", Napi::String::New(env, StopName(r.stop)));
  if (r.stop == ScanStop::Invalid) {
    o.Set("reason", Napi::String::New(env, ReasonName(r.reason)));
    o.Set("invalidOffset", Napi::Number::New(env, static_cast<double>(r.invalidOffset)));
  }
  return o;
}

Napi::Value JsScanRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Bytes b = GetBytes(env, info[0], "data");
    const uint64_t start = GetUint(env, info[1], "start");
    const uint64_t end = GetUint(env, info[2], "end");
    if (start > end || end > b.length) {
      ThrowRangeError(env, "scanRecords: [start, end) must lie within data (start " + std::to_string(start) +
                               ", end " + std::to_string(end) + ", length " + std::to_string(b.length) + ")");
    }
    ScanParams p = ParseScanOptions(env, info[3]);
    p.segment = false;
    return ScanOutcomeToJs(env, ScanRecords(b.data, b.length, start, end, p));
  });
}

Napi::Value JsSealRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Bytes b = GetBytes(env, info[0], "data");
    const uint64_t start = GetUint(env, info[1], "start");
    const uint64_t end = GetUint(env, info[2], "end");
    if (start > end || end > b.length) ThrowRangeError(env, "sealRecords: [start, end) must lie within data");
    // Validate the whole walk first so that nothing is written on error.
    uint64_t count = 0;
    for (uint64_t o = start; o < end;) {
      if (end - o < kHeaderSize) {
        ThrowRangeError(env, "sealRecords: " + std::to_string(end - o) + " trailing bytes at offset " +
                                 std::to_string(o) + " are too few for a record header");
      }
      const uint64_t total = Load32(b.data + o + kOffTotalSize);
      if (total < kHeaderSize || total > end - o) {
        ThrowRangeError(env, "sealRecords: record at offset " + std::to_string(o) + " has totalSize " +
                                 std::to_string(total) + " which runs past end " + std::to_string(end));
      }
      o += total;
      count++;
    }
    for (uint64_t o = start; o < end;) {
      uint8_t* h = b.data + o;
      const uint32_t total = Load32(h + kOffTotalSize);
      const uint32_t bodyLen = h[kOffType] == kTypePadding ? 0 : total - static_cast<uint32_t>(kHeaderSize);
      Store32(h + kOffCrc, RecordCrc(h, bodyLen));
      o += total;
    }
    return Napi::Number::New(env, static_cast<double>(count));
  });
}

Napi::Value JsFindBadRecordCrc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Bytes b = GetBytes(env, info[0], "data");
    const uint64_t start = GetUint(env, info[1], "start");
    const uint64_t end = GetUint(env, info[2], "end");
    if (start > end || end > b.length) ThrowRangeError(env, "findBadRecordCrc: [start, end) must lie within data");
    // Only the walk's own bounds are checked here (the structure was checked on arrival):
    // a record that cannot be walked counts as bad.
    for (uint64_t o = start; o < end;) {
      const uint8_t* h = b.data + o;
      if (end - o < kHeaderSize) return Napi::Number::New(env, static_cast<double>(o));
      const uint64_t total = Load32(h + kOffTotalSize);
      if (total < kHeaderSize || total > end - o) return Napi::Number::New(env, static_cast<double>(o));
      const uint32_t bodyLen = h[kOffType] == kTypePadding ? 0 : static_cast<uint32_t>(total - kHeaderSize);
      if (RecordCrc(h, bodyLen) != Load32(h + kOffCrc)) return Napi::Number::New(env, static_cast<double>(o));
      o += total;
    }
    return Napi::Number::New(env, -1);
  });
}

}  // namespace rl
