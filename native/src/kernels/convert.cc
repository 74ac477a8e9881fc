// Widening f16 / bf16 checkpoint values to f32 across threads (loading a bf16 model is mostly this).
// Spec: src/backend/reference/convert.ts; both are exact (every f16 and bf16 value is an f32).
#include <cstring>
#include "registry.h"
#include "threads/pool.h"

namespace gptune {

static inline float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    float f = static_cast<float>(mant) * 5.9604644775390625e-8f;  // subnormal (or zero): mant * 2^-24, exact
    std::memcpy(&bits, &f, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, NaN
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);  // rebias 15 -> 127
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

GPTUNE_KERNEL(halfToF32) {
  int64_t n = args.dim(2, "n");
  float* out = args.f32(0, "out", n);              // [n]
  const uint16_t* src = args.u16(1, "src", n);     // [n] bit patterns
  bool bf16 = args.flag(3, "bf16");
  parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
    if (bf16) {
      uint32_t* o = reinterpret_cast<uint32_t*>(out);
      for (int64_t i = i0; i < i1; ++i) o[i] = static_cast<uint32_t>(src[i]) << 16;
    } else {
      for (int64_t i = i0; i < i1; ++i) out[i] = f16_to_f32(src[i]);
    }
  });
}

}  // namespace gptune
