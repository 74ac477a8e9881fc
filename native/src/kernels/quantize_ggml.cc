// ggml's Q8_0 / Q4_0 quantizers across threads (GGUF export, --base-quant int8|q4). Spec:
// src/formats/ggml_quant.ts quantizeQ8_0 / quantizeQ4_0, byte for byte. The scalar path follows the
// spec's steps in JS semantics; the SIMD paths take blocks whose values and 1/d are finite, where
// every step is one exact or correctly rounded f32 operation, and hand any other block to the scalar one.
#include <cmath>
#include <cstring>
#include "registry.h"
#include "simd/cpu.h"
#include "threads/pool.h"
#include "kernels/quantize_js.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif

namespace gptune {
namespace {

using quant::f16_bits;
using quant::js_int32;
using quant::js_max;
using quant::js_min;

inline void put_scale(uint8_t* o, float d) {
  const uint16_t h = f16_bits(d);
  o[0] = static_cast<uint8_t>(h & 0xff);
  o[1] = static_cast<uint8_t>(h >> 8);
}
// `d ? 1 / d : 0` in f32 (NaN and +-0 are falsy).
inline float inverse(float d) { return (d != 0 && !std::isnan(d)) ? static_cast<float>(1.0 / static_cast<double>(d)) : 0.0f; }

// One block of 32 -> 34 bytes, the spec's steps in double (each f32 op is exact in double or rounded once).
void q8_block_scalar(uint8_t* o, const float* x) {
  double amax = 0;
  for (int j = 0; j < 32; ++j) amax = js_max(amax, std::fabs(static_cast<double>(x[j])));
  const float d = static_cast<float>(amax / 127);
  const float id = inverse(d);
  put_scale(o, d);
  for (int j = 0; j < 32; ++j) {
    const double v = static_cast<float>(static_cast<double>(x[j]) * id);
    const double q = v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5);  // Math.round, halves away from zero
    o[2 + j] = static_cast<uint8_t>(js_int32(q));
  }
}

// min(15, trunc(f32(f32(v) + 8.5))) as the spec's nib.
inline double q4_nib(double v) {
  const float s = static_cast<float>(static_cast<double>(static_cast<float>(v)) + 8.5);
  return js_min(15, std::trunc(static_cast<double>(s)));
}
void q4_block_scalar(uint8_t* o, const float* x) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j) {
    const float a = std::fabs(x[j]);
    if (amax < a) { amax = a; max = x[j]; }
  }
  const float d = static_cast<float>(static_cast<double>(max) / -8);
  const float id = inverse(d);
  put_scale(o, d);
  for (int j = 0; j < 16; ++j) {
    const uint32_t lo = static_cast<uint32_t>(js_int32(q4_nib(static_cast<double>(x[j]) * id)));
    const uint32_t hi = static_cast<uint32_t>(js_int32(q4_nib(static_cast<double>(x[16 + j]) * id)));
    o[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

using BlockFn = void (*)(uint8_t* o, const float* x);

#if GPTUNE_X86
// Keeps a product its own rounded f32 value (no contraction into a following add).
#define GPTUNE_OPAQUE(v) __asm__("" : "+v"(v))

GPTUNE_AVX512 void q8_block_avx512(uint8_t* o, const float* x) {
  const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
  const __m512 a0 = _mm512_abs_ps(x0), a1 = _mm512_abs_ps(x1), inf = _mm512_set1_ps(INFINITY);
  if ((_mm512_cmp_ps_mask(a0, inf, _CMP_LT_OQ) & _mm512_cmp_ps_mask(a1, inf, _CMP_LT_OQ)) != 0xffff) return q8_block_scalar(o, x);
  const float d = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1)) / 127.0f;
  const float id = inverse(d);
  if (!std::isfinite(id)) return q8_block_scalar(o, x);
  put_scale(o, d);
  const __m512 vid = _mm512_set1_ps(id), half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
  const __m512 xs[2] = {x0, x1};
  for (int h = 0; h < 2; ++h) {
    __m512 v = _mm512_mul_ps(xs[h], vid);
    GPTUNE_OPAQUE(v);
    const __m512 a = _mm512_abs_ps(v), fl = _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512 r = _mm512_mask_add_ps(fl, _mm512_cmp_ps_mask(_mm512_sub_ps(a, fl), half, _CMP_GE_OQ), fl, one);
    __m512i q = _mm512_cvttps_epi32(r);
    q = _mm512_mask_sub_epi32(q, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_si512(), q);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 2 + 16 * h), _mm512_cvtepi32_epi8(q));
  }
}

GPTUNE_AVX512 void q4_block_avx512(uint8_t* o, const float* x) {
  const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
  const __m512 a0 = _mm512_abs_ps(x0), a1 = _mm512_abs_ps(x1), inf = _mm512_set1_ps(INFINITY);
  if ((_mm512_cmp_ps_mask(a0, inf, _CMP_LT_OQ) & _mm512_cmp_ps_mask(a1, inf, _CMP_LT_OQ)) != 0xffff) return q4_block_scalar(o, x);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
  float max = 0;  // all zeros: the spec keeps +0
  if (amax != 0) {
    const __m512 m = _mm512_set1_ps(amax);
    const uint32_t hit = uint32_t(_mm512_cmp_ps_mask(a0, m, _CMP_EQ_OQ)) | (uint32_t(_mm512_cmp_ps_mask(a1, m, _CMP_EQ_OQ)) << 16);
    max = x[__builtin_ctz(hit)];  // the first of largest magnitude
  }
  const float d = max / -8.0f;
  const float id = inverse(d);
  if (!std::isfinite(id)) return q4_block_scalar(o, x);
  put_scale(o, d);
  const __m512 vid = _mm512_set1_ps(id), bias = _mm512_set1_ps(8.5f);
  const __m512i fifteen = _mm512_set1_epi32(15);
  __m512 v0 = _mm512_mul_ps(x0, vid), v1 = _mm512_mul_ps(x1, vid);
  GPTUNE_OPAQUE(v0);
  GPTUNE_OPAQUE(v1);
  const __m512i n0 = _mm512_min_epi32(_mm512_cvttps_epi32(_mm512_add_ps(v0, bias)), fifteen);
  const __m512i n1 = _mm512_min_epi32(_mm512_cvttps_epi32(_mm512_add_ps(v1, bias)), fifteen);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 2), _mm512_cvtepi32_epi8(_mm512_or_si512(n0, _mm512_slli_epi32(n1, 4))));
}

GPTUNE_AVX2 inline bool finite8(__m256 a) { return _mm256_movemask_ps(_mm256_cmp_ps(a, _mm256_set1_ps(INFINITY), _CMP_LT_OQ)) == 0xff; }
GPTUNE_AVX2 inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
// 16 int32 in two vectors -> 16 int16 in element order.
GPTUNE_AVX2 inline __m256i pack16(__m256i a, __m256i b) { return _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8); }

GPTUNE_AVX2 void q8_block_avx2(uint8_t* o, const float* x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 xs[4], as[4];
  for (int h = 0; h < 4; ++h) { xs[h] = _mm256_loadu_ps(x + 8 * h); as[h] = _mm256_andnot_ps(sign, xs[h]); }
  if (!(finite8(as[0]) && finite8(as[1]) && finite8(as[2]) && finite8(as[3]))) return q8_block_scalar(o, x);
  const float d = hmax8(_mm256_max_ps(_mm256_max_ps(as[0], as[1]), _mm256_max_ps(as[2], as[3]))) / 127.0f;
  const float id = inverse(d);
  if (!std::isfinite(id)) return q8_block_scalar(o, x);
  put_scale(o, d);
  const __m256 vid = _mm256_set1_ps(id), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  __m256i q[4];
  for (int h = 0; h < 4; ++h) {
    __m256 v = _mm256_mul_ps(xs[h], vid);
    GPTUNE_OPAQUE(v);
    const __m256 a = _mm256_andnot_ps(sign, v), fl = _mm256_floor_ps(a);
    const __m256 r = _mm256_add_ps(fl, _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, fl), half, _CMP_GE_OQ), one));
    const __m256i neg = _mm256_castps_si256(_mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    q[h] = _mm256_sub_epi32(_mm256_xor_si256(_mm256_cvttps_epi32(r), neg), neg);  // -q where v < 0
  }
  const __m256i bytes = _mm256_permute4x64_epi64(_mm256_packs_epi16(pack16(q[0], q[1]), pack16(q[2], q[3])), 0xD8);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 2), bytes);
}

GPTUNE_AVX2 void q4_block_avx2(uint8_t* o, const float* x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 xs[4], as[4];
  for (int h = 0; h < 4; ++h) { xs[h] = _mm256_loadu_ps(x + 8 * h); as[h] = _mm256_andnot_ps(sign, xs[h]); }
  if (!(finite8(as[0]) && finite8(as[1]) && finite8(as[2]) && finite8(as[3]))) return q4_block_scalar(o, x);
  const float amax = hmax8(_mm256_max_ps(_mm256_max_ps(as[0], as[1]), _mm256_max_ps(as[2], as[3])));
  float max = 0;
  if (amax != 0) {
    const __m256 m = _mm256_set1_ps(amax);
    uint32_t hit = 0;
    for (int h = 0; h < 4; ++h) hit |= uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(as[h], m, _CMP_EQ_OQ))) << (8 * h);
    max = x[__builtin_ctz(hit)];
  }
  const float d = max / -8.0f;
  const float id = inverse(d);
  if (!std::isfinite(id)) return q4_block_scalar(o, x);
  put_scale(o, d);
  const __m256 vid = _mm256_set1_ps(id), bias = _mm256_set1_ps(8.5f);
  const __m256i fifteen = _mm256_set1_epi32(15);
  __m256i nib[4];
  for (int h = 0; h < 4; ++h) {
    __m256 v = _mm256_mul_ps(xs[h], vid);
    GPTUNE_OPAQUE(v);
    nib[h] = _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_add_ps(v, bias)), fifteen);
  }
  // byte j: element j low, element j + 16 high.
  const __m256i c = pack16(_mm256_or_si256(nib[0], _mm256_slli_epi32(nib[2], 4)), _mm256_or_si256(nib[1], _mm256_slli_epi32(nib[3], 4)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 2), _mm_packus_epi16(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1)));
}
#endif

BlockFn block_fn(bool q4) {
#if GPTUNE_X86
  switch (cpu_isa()) {
    case ISA_AVX512: return q4 ? q4_block_avx512 : q8_block_avx512;
    case ISA_AVX2: return q4 ? q4_block_avx2 : q8_block_avx2;
    default: break;
  }
#endif
  return q4 ? q4_block_scalar : q8_block_scalar;
}

}  // namespace

GPTUNE_KERNEL(quantizeGgml) {
  const int64_t n = args.dim(2, "n");
  const bool q4 = args.flag(3, "q4");
  if (n % 32 != 0) args.fail("n", std::to_string(n) + " values is not a whole number of 32-value blocks");
  const int64_t bytes = q4 ? 18 : 34, nb = n / 32;
  uint8_t* out = args.u8(0, "out", nb * bytes);  // [n/32] blocks: f16 scale, then the quants
  const float* x = args.f32(1, "x", n);           // [n]
  const BlockFn fn = block_fn(q4);
  parallel_for(nb, 2048, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) fn(out + b * bytes, x + b * 32);
  });
}

}  // namespace gptune
