// The quantizers' specs (src/formats/ggml_quant.ts, src/formats/nf4.ts) are JavaScript: these are its
// number semantics in C++ (Math.max/min with NaN, ToInt32, f32 -> f16 bits), so the scalar paths
// follow the spec's every step, NaN, Inf and denormals included.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace gptune {
namespace quant {

// Math.max / Math.min: NaN if either is NaN.
inline double js_max(double a, double b) { return (std::isnan(a) || std::isnan(b)) ? NAN : (a > b ? a : b); }
inline double js_min(double a, double b) { return (std::isnan(a) || std::isnan(b)) ? NAN : (a < b ? a : b); }

// ToInt32 (what `|`, `<<` and a store to an Int8Array / Uint8Array apply): NaN and +-Inf give 0,
// others truncate and wrap modulo 2^32.
inline int32_t js_int32(double v) {
  if (!std::isfinite(v)) return 0;
  double m = std::fmod(std::trunc(v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<int32_t>(static_cast<uint32_t>(m));
}

// f32 -> IEEE f16 bits, round to nearest even (formats/dtype.ts f32BitsToF16, line for line).
inline uint16_t f16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t sign = (u >> 16) & 0x8000, exp = (u >> 23) & 0xff, mant = u & 0x7fffff;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));
  if (exp >= 113) {
    if (exp > 142) return static_cast<uint16_t>(sign | 0x7c00);
    uint32_t h = ((exp - 112) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return static_cast<uint16_t>(sign | h);
  }
  if (exp < 102) return static_cast<uint16_t>(sign);
  const uint32_t m = mant | 0x800000, shift = 126 - exp;
  uint32_t h = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (h & 1))) h++;
  return static_cast<uint16_t>(sign | h);
}

}  // namespace quant
}  // namespace gptune
