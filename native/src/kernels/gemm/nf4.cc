// bitsandbytes' NF4 with double quantization (spec: src/formats/nf4.ts dequantizeNf4) for the GEMM's
// packing and the decode GEMV. A value is NF4[code] * absmax of its 64-value block, one f32 product, so
// the SIMD table lookups (vpermps) and the scalar loop agree bit for bit, and the fused GEMV runs
// gemv.cc's dot_rows<L> lane for lane on those values (the f32 GEMV's result on the dequantized weight).
#include <cstring>
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif

namespace gptune {
namespace gemm {
namespace {

// get_4bit_type('nf4') (bitsandbytes hard-codes it in its kernels too).
alignas(64) constexpr float kNf4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
    0.7229568362236023f, 1.0f};

// The absmax of block g: code8[codes[g]] * absmax2[g / 256] + offset, rounded after the product and
// after the sum. Compiled for the baseline ISA and never inlined into the FMA-enabled loops, so no
// compiler fuses the two roundings into one.
__attribute__((noinline)) float block_scale(const Nf4View& w, int64_t g) {
  const float s = w.code8[w.absmax_codes[g]] * w.absmax2[g >> 8];
  return s + w.offset;
}

// Whole blocks g0.. (64 values each) -> dst, per ISA.
using BlocksFn = void (*)(float* dst, const Nf4View& w, int64_t g0, int64_t nb);

void blocks_scalar(float* dst, const Nf4View& w, int64_t g0, int64_t nb) {
  for (int64_t g = g0; g < g0 + nb; ++g, dst += 64) {
    const float d = block_scale(w, g);
    const uint8_t* q = w.q + 32 * g;
    for (int j = 0; j < 32; ++j) {
      dst[2 * j] = kNf4[q[j] >> 4] * d;
      dst[2 * j + 1] = kNf4[q[j] & 0x0f] * d;
    }
  }
}

#if GPTUNE_X86
// 16 bytes -> the 32 codes in element order (each byte's high nibble first): lo holds elements 0..15.
GPTUNE_AVX2 inline void codes_of(const uint8_t* q, __m128i& lo, __m128i& hi) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i h = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask), l = _mm_and_si128(bytes, mask);
  lo = _mm_unpacklo_epi8(h, l);
  hi = _mm_unpackhi_epi8(h, l);
}

// AVX-512: 16 codes -> 16 table values in one vpermps.
GPTUNE_AVX512 inline __m512 lookup16(__m128i codes, __m512 tab) {
  return _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(codes), tab);
}
// AVX2: 8 codes (the low 8 bytes) -> table values: two vpermps over the table's halves, bit 3 picks.
GPTUNE_AVX2 inline __m256 lookup8(__m128i codes, __m256 tab_lo, __m256 tab_hi) {
  const __m256i idx = _mm256_cvtepu8_epi32(codes);
  const __m256 pick = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(tab_lo, idx), _mm256_permutevar8x32_ps(tab_hi, idx), pick);
}

// Block g's 64 values, dequantized in registers: v[i] holds elements 16i..16i+15 (AVX-512) or 8i..8i+7
// (AVX2). The pack loop stores them, the fused GEMV multiplies them into its sums.
GPTUNE_AVX512 inline void block_values(const Nf4View& w, int64_t g, __m512 tab, __m512 v[4]) {
  const __m512 d = _mm512_set1_ps(block_scale(w, g));
  for (int h = 0; h < 2; ++h) {
    __m128i lo, hi;
    codes_of(w.q + 32 * g + 16 * h, lo, hi);
    v[2 * h] = _mm512_mul_ps(lookup16(lo, tab), d);
    v[2 * h + 1] = _mm512_mul_ps(lookup16(hi, tab), d);
  }
}
GPTUNE_AVX2 inline void block_values(const Nf4View& w, int64_t g, __m256 tab_lo, __m256 tab_hi, __m256 v[8]) {
  const __m256 d = _mm256_set1_ps(block_scale(w, g));
  for (int h = 0; h < 2; ++h) {
    __m128i lo, hi;
    codes_of(w.q + 32 * g + 16 * h, lo, hi);
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int j = 0; j < 4; ++j) v[4 * h + j] = _mm256_mul_ps(lookup8(parts[j], tab_lo, tab_hi), d);
  }
}

GPTUNE_AVX512 void blocks_avx512(float* dst, const Nf4View& w, int64_t g0, int64_t nb) {
  const __m512 tab = _mm512_load_ps(kNf4);
  __m512 v[4];
  for (int64_t g = g0; g < g0 + nb; ++g, dst += 64) {
    block_values(w, g, tab, v);
    for (int i = 0; i < 4; ++i) _mm512_storeu_ps(dst + 16 * i, v[i]);
  }
}

GPTUNE_AVX2 void blocks_avx2(float* dst, const Nf4View& w, int64_t g0, int64_t nb) {
  const __m256 tab_lo = _mm256_load_ps(kNf4), tab_hi = _mm256_load_ps(kNf4 + 8);
  __m256 v[8];
  for (int64_t g = g0; g < g0 + nb; ++g, dst += 64) {
    block_values(w, g, tab_lo, tab_hi, v);
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + 8 * i, v[i]);
  }
}

// The fused GEMV, rows of whole blocks: y[r] (+)= dot(X[r, :], x). AVX-512 is dot_rows<32> (two
// 16-lane sums over elements p..p+31), AVX2 dot_rows<16>; then the same pairwise fold.
template <int L>
inline float fold(float* s) {
  for (int w = L / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) s[l] += s[l + w];
  return s[0];
}

GPTUNE_AVX512 void dot_avx512(float* y, const void* X, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) {
  const Nf4View& w = *static_cast<const Nf4View*>(X);
  const __m512 tab = _mm512_load_ps(kNf4);
  const int64_t nb = cols / 64;
  __m512 v[4];
  for (int64_t r = r0; r < r1; ++r) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      block_values(w, r * nb + b, tab, v);
      const float* xb = x + 64 * b;
      for (int i = 0; i < 4; i += 2) {
        s0 = _mm512_add_ps(s0, _mm512_mul_ps(v[i], _mm512_loadu_ps(xb + 16 * i)));
        s1 = _mm512_add_ps(s1, _mm512_mul_ps(v[i + 1], _mm512_loadu_ps(xb + 16 * i + 16)));
      }
    }
    alignas(64) float s[32];
    _mm512_store_ps(s, s0);
    _mm512_store_ps(s + 16, s1);
    y[r] = (acc ? y[r] : 0.0f) + fold<32>(s);
  }
}

GPTUNE_AVX2 void dot_avx2(float* y, const void* X, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) {
  const Nf4View& w = *static_cast<const Nf4View*>(X);
  const __m256 tab_lo = _mm256_load_ps(kNf4), tab_hi = _mm256_load_ps(kNf4 + 8);
  const int64_t nb = cols / 64;
  __m256 v[8];
  for (int64_t r = r0; r < r1; ++r) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      block_values(w, r * nb + b, tab_lo, tab_hi, v);
      const float* xb = x + 64 * b;
      for (int i = 0; i < 8; i += 2) {
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(v[i], _mm256_loadu_ps(xb + 8 * i)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(v[i + 1], _mm256_loadu_ps(xb + 8 * i + 8)));
      }
    }
    alignas(32) float s[16];
    _mm256_store_ps(s, s0);
    _mm256_store_ps(s + 8, s1);
    y[r] = (acc ? y[r] : 0.0f) + fold<16>(s);
  }
}
#endif

BlocksFn pick_blocks() {
#if GPTUNE_X86
  if (cpu_isa() == ISA_AVX512) return blocks_avx512;
  if (cpu_isa() == ISA_AVX2) return blocks_avx2;
#endif
  return blocks_scalar;
}

}  // namespace

void dequant_nf4(float* dst, const Nf4View& w, int64_t e0, int64_t n) {
  if (n <= 0) return;
  const BlocksFn f = pick_blocks();
  int64_t g = e0 / 64;
  const int64_t off = e0 % 64;
  // A block cut by e0 or by the end goes through a 64-float buffer; whole blocks straight to dst.
  if (off != 0 || n < 64) {
    float tmp[64];
    f(tmp, w, g, 1);
    const int64_t take = n < 64 - off ? n : 64 - off;
    std::memcpy(dst, tmp + off, sizeof(float) * take);
    dst += take;
    n -= take;
    ++g;
  }
  const int64_t whole = n / 64;
  f(dst, w, g, whole);
  dst += 64 * whole;
  n -= 64 * whole;
  g += whole;
  if (n > 0) {
    float tmp[64];
    f(tmp, w, g, 1);
    std::memcpy(dst, tmp, sizeof(float) * n);
  }
}

GemvRowsFn pick_dot_nf4() {
#if GPTUNE_X86
  if (cpu_isa() == ISA_AVX512) return dot_avx512;
  if (cpu_isa() == ISA_AVX2) return dot_avx2;
#endif
  return nullptr;
}

}  // namespace gemm
}  // namespace gptune
