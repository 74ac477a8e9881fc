// Dequantizing ggml's Q8_0 / Q4_0 blocks for the GEMM's packing and the GEMV's row loads (the spec is
// formats/ggml_quant.ts dequantize): value = q * d, exact in f32, so SIMD and scalar agree bit for bit.
#include <cstring>
#include "kernels/gemm/quant_blocks.h"

namespace gptune {
namespace gemm {
namespace {

// One whole block -> 32 floats.
void block_q8_scalar(float* dst, const uint8_t* blk) {
  const float d = scale_of(blk);
  const int8_t* q = reinterpret_cast<const int8_t*>(blk + 2);
  for (int j = 0; j < 32; ++j) dst[j] = float(q[j]) * d;
}
void block_q4_scalar(float* dst, const uint8_t* blk) {
  const float d = scale_of(blk);
  for (int j = 0; j < 16; ++j) {
    dst[j] = float((blk[2 + j] & 0x0f) - 8) * d;
    dst[j + 16] = float((blk[2 + j] >> 4) - 8) * d;
  }
}

using BlockFn = void (*)(float*, const uint8_t*, int64_t);  // nb whole blocks -> 32 * nb floats

void q8_scalar(float* dst, const uint8_t* blk, int64_t nb) { for (int64_t b = 0; b < nb; ++b) block_q8_scalar(dst + 32 * b, blk + 34 * b); }
void q4_scalar(float* dst, const uint8_t* blk, int64_t nb) { for (int64_t b = 0; b < nb; ++b) block_q4_scalar(dst + 32 * b, blk + 18 * b); }

#if GPTUNE_X86
GPTUNE_AVX2 void q8_avx2(float* dst, const uint8_t* blk, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, blk += 34, dst += 32) {
    const __m256 d = _mm256_set1_ps(scale_of(blk));
    for (int j = 0; j < 32; j += 8) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 2 + j));
      _mm256_storeu_ps(dst + j, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
    }
  }
}
GPTUNE_AVX2 void q4_avx2(float* dst, const uint8_t* blk, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, blk += 18, dst += 32) {
    const __m256 d = _mm256_set1_ps(scale_of(blk));
    __m128i lo, hi;
    q4_nibbles(blk + 2, lo, hi);
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int j = 0; j < 4; ++j)
      _mm256_storeu_ps(dst + 8 * j, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[j])), d));
  }
}
GPTUNE_AVX512 void q8_avx512(float* dst, const uint8_t* blk, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, blk += 34, dst += 32) {
    const __m512 d = _mm512_set1_ps(scale_of(blk));
    for (int j = 0; j < 32; j += 16) {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2 + j));
      _mm512_storeu_ps(dst + j, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d));
    }
  }
}
GPTUNE_AVX512 void q4_avx512(float* dst, const uint8_t* blk, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, blk += 18, dst += 32) {
    const __m512 d = _mm512_set1_ps(scale_of(blk));
    __m128i lo, hi;
    q4_nibbles(blk + 2, lo, hi);
    _mm512_storeu_ps(dst, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)), d));
    _mm512_storeu_ps(dst + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi)), d));
  }
}
#endif

BlockFn pick(Stored kind) {
  const bool q4 = kind == STORED_Q4_0;
#if GPTUNE_X86
  if (cpu_isa() == ISA_AVX512) return q4 ? q4_avx512 : q8_avx512;
  if (cpu_isa() == ISA_AVX2) return q4 ? q4_avx2 : q8_avx2;
#endif
  return q4 ? q4_scalar : q8_scalar;
}

}  // namespace

void dequant(float* dst, const uint8_t* row, Stored kind, int64_t c0, int64_t n) {
  if (n <= 0) return;
  const BlockFn f = pick(kind);
  const int64_t bytes = kind == STORED_Q4_0 ? 18 : 34;
  int64_t b = c0 / 32, off = c0 % 32;
  // A block cut by c0 or by the end goes through a 32-float buffer; whole blocks straight to dst.
  if (off != 0 || n < 32) {
    float tmp[32];
    f(tmp, row + b * bytes, 1);
    const int64_t take = n < 32 - off ? n : 32 - off;
    std::memcpy(dst, tmp + off, sizeof(float) * take);
    dst += take;
    n -= take;
    ++b;
  }
  const int64_t whole = n / 32;
  f(dst, row + b * bytes, whole);
  dst += 32 * whole;
  n -= 32 * whole;
  b += whole;
  if (n > 0) {
    float tmp[32];
    f(tmp, row + b * bytes, 1);
    std::memcpy(dst, tmp, sizeof(float) * n);
  }
}

}  // namespace gemm
}  // namespace gptune
