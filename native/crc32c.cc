// CRC32C (Castagnoli): portable slicing-by-8, x86 SSE4.2 (three interleaved streams
// combined with PCLMULQDQ), and ARMv8 CRC instructions, chosen at run time.
//
// Notation: the "raw" CRC register c (no conditioning) after a message M of n bits from an
// initial register c0 is c0*x^n + M*x^32 (mod P), in bit-reflected representation (bit i
// holds the coefficient of x^(31-i)). Hence crc(A||B) = crc(A)*x^(8|B|) + crc_from_0(B):
// three streams over consecutive blocks can be computed independently and combined by
// multiplying by a power of x, which PCLMULQDQ + one CRC32 instruction does exactly.
#include "crc32c.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RL_X86 1
#endif
#if defined(__aarch64__)
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

namespace rl {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

// ---------------------------------------------------------------- portable tables

struct Tables {
  uint32_t t[8][256];
  constexpr Tables() : t() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};
constexpr Tables kTables{};

uint32_t PortableRaw(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = kTables.t;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

// ---------------------------------------------------------------- GF(2) helpers

// a*b mod P in reflected representation (x^0 is 0x80000000).
constexpr uint32_t GfMul(uint32_t a, uint32_t b) {
  uint32_t prod = 0;
  for (int i = 0; i < 32; i++) {
    if (a & (0x80000000u >> i)) prod ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return prod;
}

constexpr uint32_t GfXPow(uint64_t n) {  // x^n mod P
  uint32_t result = 0x80000000u;          // x^0
  uint32_t base = 0x40000000u;            // x^1
  while (n) {
    if (n & 1) result = GfMul(result, base);
    base = GfMul(base, base);
    n >>= 1;
  }
  return result;
}

// kShift[j] = x^(2^j - 33) mod P for j >= 6. Multiplying a register c by it with
// PCLMULQDQ gives c*x^(2^j - 33)*x (bit alignment of a 32x32 carry-less product) and the
// CRC32 instruction on that 64-bit product adds x^32 and reduces: c*x^(2^j) mod P.
struct ShiftTable {
  uint32_t k[64];
  constexpr ShiftTable() : k() {
    const uint32_t x33 = GfXPow(33);
    k[6] = GfXPow(64 - 33);
    for (int j = 6; j < 63; j++) k[j + 1] = GfMul(GfMul(k[j], k[j]), x33);
  }
};
constexpr ShiftTable kShift{};

#if defined(RL_X86)
// ---------------------------------------------------------------- x86 SSE4.2

__attribute__((target("sse4.2"))) inline uint32_t HwTail(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  if (n & 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    c = _mm_crc32_u32(c, v);
    p += 4;
  }
  if (n & 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    c = _mm_crc32_u16(c, v);
    p += 2;
  }
  if (n & 1) c = _mm_crc32_u8(c, *p);
  return c;
}

__attribute__((target("sse4.2"))) uint32_t HwSingleRaw(uint32_t c, const uint8_t* p, size_t n) {
  return HwTail(c, p, n);
}

__attribute__((target("sse4.2,pclmul"))) inline uint32_t ShiftClmul(uint32_t c, uint64_t nbits) {
  // nbits is a multiple of 64, so every set bit j has j >= 6.
  while (nbits) {
    const int j = __builtin_ctzll(nbits);
    nbits &= nbits - 1;
    const __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(c)),
                                              _mm_cvtsi32_si128(static_cast<int>(kShift.k[j])), 0);
    c = static_cast<uint32_t>(_mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(prod))));
  }
  return c;
}

constexpr size_t kThreeWayMin = 192;

// Three independent CRC streams over three equal consecutive blocks: the CRC32
// instruction has a latency of 3 cycles and a throughput of 1 per cycle, so three
// chains keep it busy. Returns the raw register for the first 3*L bytes.
__attribute__((target("sse4.2,pclmul"))) inline uint32_t HwThreeWay(uint32_t c, const uint8_t*& p,
                                                                     size_t& n) {
  const size_t L = (n / 48) * 16;  // bytes per stream, a multiple of 16
  const uint8_t* p0 = p;
  const uint8_t* p1 = p + L;
  const uint8_t* p2 = p + 2 * L;
  uint64_t c0 = c, c1 = 0, c2 = 0;
  for (size_t i = 0; i < L; i += 16) {
    uint64_t a0, a1, b0, b1, d0, d1;
    std::memcpy(&a0, p0 + i, 8);
    std::memcpy(&b0, p1 + i, 8);
    std::memcpy(&d0, p2 + i, 8);
    std::memcpy(&a1, p0 + i + 8, 8);
    std::memcpy(&b1, p1 + i + 8, 8);
    std::memcpy(&d1, p2 + i + 8, 8);
    c0 = _mm_crc32_u64(c0, a0);
    c1 = _mm_crc32_u64(c1, b0);
    c2 = _mm_crc32_u64(c2, d0);
    c0 = _mm_crc32_u64(c0, a1);
    c1 = _mm_crc32_u64(c1, b1);
    c2 = _mm_crc32_u64(c2, d1);
  }
  // Two independent shift chains (they overlap in the pipeline).
  const uint32_t r = ShiftClmul(static_cast<uint32_t>(c0), 16 * L) ^
                     ShiftClmul(static_cast<uint32_t>(c1), 8 * L) ^ static_cast<uint32_t>(c2);
  p += 3 * L;
  n -= 3 * L;
  return r;
}

__attribute__((target("sse4.2,pclmul"))) uint32_t HwClmulRaw(uint32_t c, const uint8_t* p, size_t n) {
  if (n >= kThreeWayMin) c = HwThreeWay(c, p, n);
  return HwTail(c, p, n);
}

uint32_t X86Hw(const uint8_t* p, size_t n, uint32_t seed) {
  return ~HwClmulRaw(~seed, p, n);
}
uint32_t X86HwNoClmul(const uint8_t* p, size_t n, uint32_t seed) {
  return ~HwSingleRaw(~seed, p, n);
}
#endif  // RL_X86

#if defined(__aarch64__)
// ---------------------------------------------------------------- ARMv8 CRC32

__attribute__((target("+crc"))) uint32_t ArmRaw(uint32_t c, const uint8_t* p, size_t n) {
  while (n >= 32) {
    uint64_t a, b, d, e;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    std::memcpy(&d, p + 16, 8);
    std::memcpy(&e, p + 24, 8);
    c = __crc32cd(c, a);
    c = __crc32cd(c, b);
    c = __crc32cd(c, d);
    c = __crc32cd(c, e);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    std::memcpy(&a, p, 8);
    c = __crc32cd(c, a);
    p += 8;
    n -= 8;
  }
  if (n & 4) {
    uint32_t a;
    std::memcpy(&a, p, 4);
    c = __crc32cw(c, a);
    p += 4;
  }
  if (n & 2) {
    uint16_t a;
    std::memcpy(&a, p, 2);
    c = __crc32ch(c, a);
    p += 2;
  }
  if (n & 1) c = __crc32cb(c, *p);
  return c;
}
uint32_t ArmHw(const uint8_t* p, size_t n, uint32_t seed) { return ~ArmRaw(~seed, p, n); }
#endif

uint32_t PortableEntry(const uint8_t* p, size_t n, uint32_t seed) { return ~PortableRaw(~seed, p, n); }

using CrcFn = uint32_t (*)(const uint8_t*, size_t, uint32_t);

struct Dispatch {
  CrcFn best = PortableEntry;
  CrcFn hardware = nullptr;
  const char* name = "portable";
  Dispatch() {
#if defined(RL_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
      hardware = __builtin_cpu_supports("pclmul") ? X86Hw : X86HwNoClmul;
      best = hardware;
      name = "sse4.2";
    }
#elif defined(__aarch64__)
    if (getauxval(AT_HWCAP) & HWCAP_CRC32) {
      hardware = ArmHw;
      best = hardware;
      name = "armv8";
    }
#endif
  }
};
const Dispatch g_dispatch;

}  // namespace

uint32_t Crc32c(const uint8_t* data, size_t len, uint32_t seed) { return g_dispatch.best(data, len, seed); }
uint32_t Crc32cPortable(const uint8_t* data, size_t len, uint32_t seed) { return PortableEntry(data, len, seed); }
uint32_t Crc32cHardware(const uint8_t* data, size_t len, uint32_t seed) {
  return g_dispatch.hardware ? g_dispatch.hardware(data, len, seed) : PortableEntry(data, len, seed);
}
bool Crc32cHardwareAvailable() { return g_dispatch.hardware != nullptr; }
const char* Crc32cImplementation() { return g_dispatch.name; }

}  // namespace rl
