// The decode GEMV on ggml blocks, y[r] = dot(X[r, :], x): each block's quants are widened, scaled and
// multiplied in registers, never stored. The sums are gemv.cc's dot_rows<L> on the dequantized row,
// lane for lane (partial sums s[l] over elements p + l, then the same pairwise fold), so the result is
// bit for bit the f32 GEMV's on the dequantized weight.
#include <cstring>
#include "simd/vec.h"  // immintrin.h, with GCC 12's warnings inside its AVX-512 headers silenced
#include "kernels/gemm/quant_blocks.h"

namespace gptune {
namespace gemm {

#if GPTUNE_X86
namespace {

// A block's f16 scale by vcvtph2ps in the loop (f16_to_f32 is an out-of-line call per block); exact either way.
#define GPTUNE_AVX512_F16C __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2,f16c")))
#define GPTUNE_AVX2_F16C __attribute__((target("avx2,fma,bmi2,f16c")))
__attribute__((always_inline, target("f16c"))) inline float block_scale(const uint8_t* blk) {
  uint16_t h;
  std::memcpy(&h, blk, 2);
  return _cvtsh_ss(h);
}

// Folds L partial sums as dot_rows does: s[l] += s[l + w] for w = L/2 .. 1.
template <int L>
inline float fold(float* s) {
  for (int w = L / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) s[l] += s[l + w];
  return s[0];
}

// AVX-512: dot_rows<32>, two 16-lane accumulators (block elements 0..15 and 16..31).
template <bool Q4>
GPTUNE_AVX512_F16C void dot_blocks_avx512(float* y, const void* Xv, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) {
  const uint8_t* X = static_cast<const uint8_t*>(Xv);
  const int64_t nb = cols / 32, bytes = Q4 ? 18 : 34;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* blk = X + r * nb * bytes;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b, blk += bytes) {
      const __m512 d = _mm512_set1_ps(block_scale(blk));
      __m128i lo, hi;
      block_quants<Q4>(blk, lo, hi);
      const __m512 w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)), d);
      const __m512 w1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi)), d);
      s0 = _mm512_add_ps(s0, _mm512_mul_ps(w0, _mm512_loadu_ps(x + 32 * b)));
      s1 = _mm512_add_ps(s1, _mm512_mul_ps(w1, _mm512_loadu_ps(x + 32 * b + 16)));
    }
    alignas(64) float s[32];
    _mm512_store_ps(s, s0);
    _mm512_store_ps(s + 16, s1);
    y[r] = (acc ? y[r] : 0.0f) + fold<32>(s);
  }
}

// AVX2: dot_rows<16>, two 8-lane accumulators; a block is two steps of 16 elements.
template <bool Q4>
GPTUNE_AVX2_F16C void dot_blocks_avx2(float* y, const void* Xv, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) {
  const uint8_t* X = static_cast<const uint8_t*>(Xv);
  const int64_t nb = cols / 32, bytes = Q4 ? 18 : 34;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* blk = X + r * nb * bytes;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b, blk += bytes) {
      const __m256 d = _mm256_set1_ps(block_scale(blk));
      __m128i lo, hi;
      block_quants<Q4>(blk, lo, hi);
      const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
      const float* xb = x + 32 * b;
      for (int j = 0; j < 4; j += 2) {
        const __m256 w0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[j])), d);
        const __m256 w1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[j + 1])), d);
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(w0, _mm256_loadu_ps(xb + 8 * j)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(w1, _mm256_loadu_ps(xb + 8 * j + 8)));
      }
    }
    alignas(32) float s[16];
    _mm256_store_ps(s, s0);
    _mm256_store_ps(s + 8, s1);
    y[r] = (acc ? y[r] : 0.0f) + fold<16>(s);
  }
}

}  // namespace
#endif

GemvRowsFn pick_dot_blocks(Stored kind) {
#if GPTUNE_X86
  const bool q4 = kind == STORED_Q4_0;
  if (cpu_isa() == ISA_AVX512) return q4 ? dot_blocks_avx512<true> : dot_blocks_avx512<false>;
  if (cpu_isa() == ISA_AVX2) return q4 ? dot_blocks_avx2<true> : dot_blocks_avx2<false>;
#endif
  (void)kind;
  return nullptr;
}

}  // namespace gemm
}  // namespace gptune
