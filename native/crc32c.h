// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) with ~0 pre/post conditioning.
// Crc32c(data, len, Crc32c(a)) == Crc32c(a || data): the seed continues a previous result.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rl {

// Runtime-dispatched: the fastest implementation this CPU supports.
uint32_t Crc32c(const uint8_t* data, size_t len, uint32_t seed = 0);
// Table-driven portable implementation (slicing-by-8 with a byte-at-a-time tail).
uint32_t Crc32cPortable(const uint8_t* data, size_t len, uint32_t seed = 0);
// The hardware implementation; only call when Crc32cHardwareAvailable().
uint32_t Crc32cHardware(const uint8_t* data, size_t len, uint32_t seed = 0);
bool Crc32cHardwareAvailable();
// "sse4.2", "armv8" or "portable": what Crc32c() uses.
const char* Crc32cImplementation();

}  // namespace rl
