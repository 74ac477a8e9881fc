// Reading one ggml Q8_0 / Q4_0 block: its f16 scale, and Q4_0's nibbles as signed bytes. Shared by
// the dequantizing loads (dequant.cc) and the fused decode GEMV (gemv_quant.cc).
#pragma once
#include <cstring>
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif

namespace gptune {
namespace gemm {

inline float scale_of(const uint8_t* blk) {
  uint16_t h;
  std::memcpy(&h, blk, 2);
  return f16_to_f32(h);
}

#if GPTUNE_X86
// Q4_0's 16 bytes -> the low nibbles (elements 0..15) and high nibbles (16..31) as int8 minus 8.
GPTUNE_AVX2 inline void q4_nibbles(const uint8_t* qs, __m128i& lo, __m128i& hi) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
  lo = _mm_sub_epi8(_mm_and_si128(bytes, mask), eight);
  hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), eight);
}
// A block's 32 quants as int8: elements 0..15 in lo, 16..31 in hi.
template <bool Q4>
GPTUNE_AVX2 inline void block_quants(const uint8_t* blk, __m128i& lo, __m128i& hi) {
  if (Q4) q4_nibbles(blk + 2, lo, hi);
  else {
    lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18));
  }
}
#endif

}  // namespace gemm
}  // namespace gptune
