// One vector type per ISA with the same small interface (Vec512: 16 lanes, Vec256: 8, Vec1: 4 floats
// in plain loops), so a kernel's row loop is written once as a template and compiled per ISA by dispatch_isa().
// Also a vectorised exp (range reduction + degree-7 polynomial, ~1 ulp) for softmax, loss and activations.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include "simd/cpu.h"
#if GPTUNE_X86
// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* as "maybe uninitialized").
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#define GPTUNE_FLATTEN __attribute__((flatten))

// Vectors pass by value between inlined helpers; GCC's note on the 2011 ABI change does not apply here.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace gptune {

// ---- baseline (no AVX): 4 floats as plain loops, which the compiler may map onto SSE2. Four lanes,
// not one, so that row reductions are four shorter float chains as on the wide ISAs. ----
struct Vec1 {
  static constexpr int W = 4;
  float v[4];
  template <class F> static Vec1 each(F f) { Vec1 r; for (int i = 0; i < 4; ++i) r.v[i] = f(i); return r; }
  static Vec1 set1(float a) { return each([&](int) { return a; }); }
  static Vec1 load(const float* p) { return each([&](int i) { return p[i]; }); }
  static Vec1 loadn(const float* p, int n, float fill) { return each([&](int i) { return i < n ? p[i] : fill; }); }
  void store(float* p) const { for (int i = 0; i < 4; ++i) p[i] = v[i]; }
  void storen(float* p, int n) const { for (int i = 0; i < n; ++i) p[i] = v[i]; }
  float reduce_add() const { return (v[0] + v[2]) + (v[1] + v[3]); }
  float reduce_max() const { float a = v[0] > v[2] ? v[0] : v[2], b = v[1] > v[3] ? v[1] : v[3]; return a > b ? a : b; }
  friend Vec1 operator+(Vec1 a, Vec1 b) { return each([&](int i) { return a.v[i] + b.v[i]; }); }
  friend Vec1 operator-(Vec1 a, Vec1 b) { return each([&](int i) { return a.v[i] - b.v[i]; }); }
  friend Vec1 operator*(Vec1 a, Vec1 b) { return each([&](int i) { return a.v[i] * b.v[i]; }); }
  friend Vec1 operator/(Vec1 a, Vec1 b) { return each([&](int i) { return a.v[i] / b.v[i]; }); }
  static Vec1 fmadd(Vec1 a, Vec1 b, Vec1 c) { return each([&](int i) { return a.v[i] * b.v[i] + c.v[i]; }); }
  // max/min return the second operand on NaN, like maxps/minps
  static Vec1 max(Vec1 a, Vec1 b) { return each([&](int i) { return a.v[i] > b.v[i] ? a.v[i] : b.v[i]; }); }
  static Vec1 min(Vec1 a, Vec1 b) { return each([&](int i) { return a.v[i] < b.v[i] ? a.v[i] : b.v[i]; }); }
  static Vec1 sqrt(Vec1 a) { return each([&](int i) { return std::sqrt(a.v[i]); }); }
  // a where x < 0, else b (NaN and -0 take b)
  static Vec1 select_neg(Vec1 x, Vec1 a, Vec1 b) { return each([&](int i) { return x.v[i] < 0.f ? a.v[i] : b.v[i]; }); }
  // Round to nearest by the 1.5 * 2^23 trick (exact for |a| < 2^22; no SSE4.1 needed).
  static Vec1 round(Vec1 a) { return each([&](int i) { return (a.v[i] + 12582912.f) - 12582912.f; }); }
  // 2^n for an integral n in [-127, 127]; n = -127 gives 0.
  static Vec1 pow2i(Vec1 n) {
    return each([&](int i) {
      uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n.v[i]) + 127) << 23;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    });
  }
};

#if GPTUNE_X86
// ---- AVX2 + FMA: 8 lanes; tails by maskload/maskstore ----
struct Vec256 {
  static constexpr int W = 8;
  __m256 v;
  GPTUNE_AVX2 static __m256i tail_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  GPTUNE_AVX2 static Vec256 set1(float a) { return {_mm256_set1_ps(a)}; }
  GPTUNE_AVX2 static Vec256 load(const float* p) { return {_mm256_loadu_ps(p)}; }
  GPTUNE_AVX2 static Vec256 loadn(const float* p, int n, float fill) {
    __m256i m = tail_mask(n);
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m))};
  }
  GPTUNE_AVX2 void store(float* p) const { _mm256_storeu_ps(p, v); }
  GPTUNE_AVX2 void storen(float* p, int n) const { _mm256_maskstore_ps(p, tail_mask(n), v); }
  GPTUNE_AVX2 float reduce_add() const {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  GPTUNE_AVX2 float reduce_max() const {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  GPTUNE_AVX2 friend Vec256 operator+(Vec256 a, Vec256 b) { return {_mm256_add_ps(a.v, b.v)}; }
  GPTUNE_AVX2 friend Vec256 operator-(Vec256 a, Vec256 b) { return {_mm256_sub_ps(a.v, b.v)}; }
  GPTUNE_AVX2 friend Vec256 operator*(Vec256 a, Vec256 b) { return {_mm256_mul_ps(a.v, b.v)}; }
  GPTUNE_AVX2 friend Vec256 operator/(Vec256 a, Vec256 b) { return {_mm256_div_ps(a.v, b.v)}; }
  GPTUNE_AVX2 static Vec256 fmadd(Vec256 a, Vec256 b, Vec256 c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
  GPTUNE_AVX2 static Vec256 max(Vec256 a, Vec256 b) { return {_mm256_max_ps(a.v, b.v)}; }
  GPTUNE_AVX2 static Vec256 min(Vec256 a, Vec256 b) { return {_mm256_min_ps(a.v, b.v)}; }
  GPTUNE_AVX2 static Vec256 sqrt(Vec256 a) { return {_mm256_sqrt_ps(a.v)}; }
  GPTUNE_AVX2 static Vec256 select_neg(Vec256 x, Vec256 a, Vec256 b) {
    return {_mm256_blendv_ps(b.v, a.v, _mm256_cmp_ps(x.v, _mm256_setzero_ps(), _CMP_LT_OQ))};
  }
  GPTUNE_AVX2 static Vec256 round(Vec256 a) { return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
  GPTUNE_AVX2 static Vec256 pow2i(Vec256 n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127));
    return {_mm256_castsi256_ps(_mm256_slli_epi32(e, 23))};
  }
};

// ---- AVX-512: 16 lanes; tails by mask registers ----
struct Vec512 {
  static constexpr int W = 16;
  __m512 v;
  GPTUNE_AVX512 static __mmask16 tail_mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  GPTUNE_AVX512 static Vec512 set1(float a) { return {_mm512_set1_ps(a)}; }
  GPTUNE_AVX512 static Vec512 load(const float* p) { return {_mm512_loadu_ps(p)}; }
  GPTUNE_AVX512 static Vec512 loadn(const float* p, int n, float fill) {
    return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p)};
  }
  GPTUNE_AVX512 void store(float* p) const { _mm512_storeu_ps(p, v); }
  GPTUNE_AVX512 void storen(float* p, int n) const { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
  GPTUNE_AVX512 float reduce_add() const {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    return Vec256{s8}.reduce_add();
  }
  GPTUNE_AVX512 float reduce_max() const {
    __m256 s8 = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    return Vec256{s8}.reduce_max();
  }
  GPTUNE_AVX512 friend Vec512 operator+(Vec512 a, Vec512 b) { return {_mm512_add_ps(a.v, b.v)}; }
  GPTUNE_AVX512 friend Vec512 operator-(Vec512 a, Vec512 b) { return {_mm512_sub_ps(a.v, b.v)}; }
  GPTUNE_AVX512 friend Vec512 operator*(Vec512 a, Vec512 b) { return {_mm512_mul_ps(a.v, b.v)}; }
  GPTUNE_AVX512 friend Vec512 operator/(Vec512 a, Vec512 b) { return {_mm512_div_ps(a.v, b.v)}; }
  GPTUNE_AVX512 static Vec512 fmadd(Vec512 a, Vec512 b, Vec512 c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
  GPTUNE_AVX512 static Vec512 max(Vec512 a, Vec512 b) { return {_mm512_max_ps(a.v, b.v)}; }
  GPTUNE_AVX512 static Vec512 min(Vec512 a, Vec512 b) { return {_mm512_min_ps(a.v, b.v)}; }
  GPTUNE_AVX512 static Vec512 sqrt(Vec512 a) { return {_mm512_sqrt_ps(a.v)}; }
  GPTUNE_AVX512 static Vec512 select_neg(Vec512 x, Vec512 a, Vec512 b) {
    return {_mm512_mask_blend_ps(_mm512_cmp_ps_mask(x.v, _mm512_setzero_ps(), _CMP_LT_OQ), b.v, a.v)};
  }
  GPTUNE_AVX512 static Vec512 round(Vec512 a) { return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
  GPTUNE_AVX512 static Vec512 pow2i(Vec512 n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n.v), _mm512_set1_epi32(127));
    return {_mm512_castsi512_ps(_mm512_slli_epi32(e, 23))};
  }
};
#endif

// exp(x) for x in [-87.3, 88]: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so n*LN2_HI is exact),
// e^r by its Taylor series to r^7 (truncation < 1e-8 relative), times 2^n built in the exponent bits.
// Below -88 it returns 0 (not the denormal); above 88 it saturates at e^88: callers pass x <= 0, or
// (sigmoid) values whose overflow only has to stay finite and huge.
template <class V>
inline V vexp(V x) {
  x = V::min(V::max(x, V::set1(-88.0f)), V::set1(88.0f));
  V n = V::round(x * V::set1(1.44269504088896341f));
  V r = x - n * V::set1(0.693359375f);      // LN2_HI: 9 significant bits, n * LN2_HI is exact
  r = r - n * V::set1(-2.12194440e-4f);     // LN2_LO = ln2 - LN2_HI
  V p = V::set1(1.f / 5040);
  p = V::fmadd(p, r, V::set1(1.f / 720));
  p = V::fmadd(p, r, V::set1(1.f / 120));
  p = V::fmadd(p, r, V::set1(1.f / 24));
  p = V::fmadd(p, r, V::set1(1.f / 6));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.f));
  p = V::fmadd(p, r, V::set1(1.f));
  return p * V::pow2i(n);
}

// sigmoid(x) = 1 / (1 + e^-x): no cancellation at either end (e^-x saturates to a huge finite value).
template <class V>
inline V vsigmoid(V x) {
  return V::set1(1.f) / (V::set1(1.f) + vexp(V::set1(0.f) - x));
}

// The lambda gets a tag, not a vector (passing a __m512 by value to a non-AVX-512 function changes ABI).
template <class V> struct IsaTag { using Vec = V; };
#define GPTUNE_VEC(tag) typename decltype(tag)::Vec

#if GPTUNE_X86
template <class F> GPTUNE_AVX512 GPTUNE_FLATTEN void run_avx512(F& f) { f(IsaTag<Vec512>{}); }
template <class F> GPTUNE_AVX2 GPTUNE_FLATTEN void run_avx2(F& f) { f(IsaTag<Vec256>{}); }
#endif
template <class F> GPTUNE_FLATTEN void run_scalar(F& f) { f(IsaTag<Vec1>{}); }

// Calls f(IsaTag<V>{}) with the widest vector type cpu_isa() allows. f is a generic lambda `[&](auto tag) { using V = GPTUNE_VEC(tag); ... }`; `flatten` inlines
// it, and everything it calls, into a function compiled for that ISA, so plain loops inside f are
// auto-vectorised for the ISA too. Call it per thread range, not around parallel_for.
template <class F>
inline void dispatch_isa(F&& f) {
#if GPTUNE_X86
  switch (cpu_isa()) {
    case ISA_AVX512: run_avx512(f); return;
    case ISA_AVX2: run_avx2(f); return;
    default: break;
  }
#endif
  run_scalar(f);
}

}  // namespace gptune
