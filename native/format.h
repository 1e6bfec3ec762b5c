// raftledger on-disk record layout, version 1.
//
// The single written definition is docs/FORMAT.md ("Record header (48 bytes)" and
// "Index segments"); this header mirrors it for the C++ addon and is exported to JS
// as `native.format` so that a test can check that C++ and TypeScript agree.
// All integers are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rl {
namespace fmt {

constexpr uint32_t kMagic = 0x474C4652u;  // bytes 52 46 4C 47, "RFLG"
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 48;

// Record types.
constexpr uint8_t kTypePadding = 0;
constexpr uint8_t kTypeNormal = 1;
constexpr uint8_t kTypeNoop = 2;
constexpr uint8_t kTypeConfig = 3;
constexpr uint8_t kMaxType = 3;

// Record flag bits (docs/FORMAT.md). kFlagProducer: a Normal record whose body starts with
// the kProducerHeaderSize-byte producer header (producerId u64, sequence u64, epoch u32, reserved u32).
constexpr uint16_t kFlagProducer = 0x0100;
constexpr uint64_t kProducerHeaderSize = 24;

// Header field offsets.
constexpr size_t kOffMagic = 0;      // u32
constexpr size_t kOffVersion = 4;    // u8
constexpr size_t kOffType = 5;       // u8
constexpr size_t kOffFlags = 6;      // u16, only kFlagProducer may be set (Normal records)
constexpr size_t kOffTotalSize = 8;  // u32, header + body (padding: bytes to segment end)
constexpr size_t kOffBodySize = 12;  // u32
constexpr size_t kOffIndex = 16;     // u64
constexpr size_t kOffTerm = 24;      // u64
constexpr size_t kOffPos = 32;       // u64, absolute position of header byte 0
constexpr size_t kOffReserved = 40;  // u32, must be 0
constexpr size_t kOffCrc = 44;       // u32, CRC32C of header[0,44) then the body
constexpr size_t kCrcCoveredHeader = 44;

// Index slot (24 bytes), as emitted by the scanner into slotsOut.
constexpr size_t kSlotSize = 24;
constexpr size_t kSlotOffPos = 0;    // u64
constexpr size_t kSlotOffTerm = 8;   // u64
constexpr size_t kSlotOffSize = 16;  // u32 totalSize
constexpr size_t kSlotOffCrc = 20;   // u32 crc field

// JavaScript numbers are exact up to 2^53 - 1.
constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

static_assert(kOffCrc + 4 == kHeaderSize, "crc is the last header field");

// Little-endian loads/stores (x86_64 and aarch64 Linux are little-endian; memcpy keeps
// them alignment-safe and compiles to single moves).
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raftledger's addon assumes a little-endian host"
#endif
inline uint16_t Load16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline uint32_t Load32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t Load64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
inline void Store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void Store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

}  // namespace fmt
}  // namespace rl
