// Widening 16-bit weights to f32 for the GEMM's packing and the GEMV's loads: bf16 is the top half
// of an f32 (a shift), f16 goes through F16C's vcvtph2ps where the CPU has it (every AVX2 CPU here).
#include <cstring>
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif

namespace gptune {
namespace gemm {
namespace {

inline float bf16_to_f32(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

// IEEE half -> single, exact for every pattern (subnormals renormalised, Inf/NaN kept).
float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
  if (exp == 0x1f) u = sign | 0x7f800000u | (mant << 13);
  else if (exp != 0) u = sign | ((exp + 112) << 23) | (mant << 13);
  else if (mant == 0) u = sign;
  else {
    int e = 113;
    while (!(mant & 0x400)) { mant <<= 1; --e; }
    u = sign | (uint32_t(e) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {

#if GPTUNE_X86
__attribute__((target("avx2,f16c"))) void widen_f16_f16c(float* dst, const uint16_t* src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}
GPTUNE_AVX2 void widen_bf16_avx2(float* dst, const uint16_t* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}
#endif

}  // namespace

void widen(float* dst, const uint16_t* src, int64_t n, Stored kind) {
#if GPTUNE_X86
  if (cpu_isa() >= ISA_AVX2) {
    if (kind == STORED_F16) widen_f16_f16c(dst, src, n);
    else widen_bf16_avx2(dst, src, n);
    return;
  }
#endif
  if (kind == STORED_F16) for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
  else for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

}  // namespace gemm
}  // namespace gptune
