// The decode GEMVs on AVX2 / AVX-512 for weights held as f32, bf16 or f16: each weight element is
// loaded once in its stored width and widened in a register (bf16: a shift, f16: vcvtph2ps), never
// written to a buffer, so a 16-bit weight streams half the bytes of an f32 one. The sums are gemv.cc's
// dot_rows<L> / axpy_rows lane for lane (the same FMAs in the same order, the same pairwise fold), so
// a 16-bit weight gives the f32 path's result on its widened values bit for bit.
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"

#if GPTUNE_X86
// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* as "maybe uninitialized"), as in simd/vec.h.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

namespace gptune {
namespace gemm {
namespace {

// f16c on both: vcvtph2ps (every AVX2 CPU this dispatches to has F16C, as widen.cc assumes).
#define GPTUNE_S512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2,f16c")))
#define GPTUNE_S256 __attribute__((target("avx2,fma,bmi2,f16c")))
#define GPTUNE_S512_INLINE __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2,f16c"))) inline
#define GPTUNE_S256_INLINE __attribute__((always_inline, target("avx2,fma,bmi2,f16c"))) inline

// Rows ahead that the streams prefetch (software prefetches never fault, so none is bounds-checked).
constexpr int64_t kAhead = 8;

// ---- loads of 16 (AVX-512) or 8 (AVX2) consecutive weights as f32 lanes; `part` zeroes lanes off the mask ----
template <Stored K> struct Src;
template <> struct Src<STORED_F32> {
  using T = float;
  GPTUNE_S512_INLINE static __m512 v16(const float* p) { return _mm512_loadu_ps(p); }
  GPTUNE_S512_INLINE static __m512 part16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
  GPTUNE_S256_INLINE static __m256 v8(const float* p) { return _mm256_loadu_ps(p); }
  static float one(const float* p) { return *p; }
};
template <> struct Src<STORED_BF16> {
  using T = uint16_t;
  GPTUNE_S512_INLINE static __m512 wide16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  GPTUNE_S512_INLINE static __m512 v16(const uint16_t* p) { return wide16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  GPTUNE_S512_INLINE static __m512 part16(const uint16_t* p, __mmask16 m) { return wide16(_mm256_maskz_loadu_epi16(m, p)); }
  GPTUNE_S256_INLINE static __m256 v8(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float one(const uint16_t* p) {
    const uint32_t u = uint32_t(*p) << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
  }
};
template <> struct Src<STORED_F16> {
  using T = uint16_t;
  GPTUNE_S512_INLINE static __m512 v16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  GPTUNE_S512_INLINE static __m512 part16(const uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
  GPTUNE_S256_INLINE static __m256 v8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float one(const uint16_t* p) { return f16_to_f32(*p); }
};

// dot_rows' fold of 8 partial sums: s[l] += s[l + w] for w = 4, 2, 1 (lanes 0..7 of v).
GPTUNE_S256_INLINE float fold8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---- y[r] = (acc ? y[r] : 0) + dot(X[r, :], x): dot_rows<32> on AVX-512 (lanes 0..15 in s0, 16..31
// in s1), R rows at a time so each load of x serves R rows and R streams are in flight ----
template <Stored K, int R>
GPTUNE_S512_INLINE void dot_group512(float* y, const typename Src<K>::T* X, const float* x, int64_t cols, int64_t r, bool acc) {
  using S = Src<K>;
  const typename S::T* row[R];
  __m512 s0[R], s1[R];
  for (int i = 0; i < R; ++i) { row[i] = X + (r + i) * cols; s0[i] = _mm512_setzero_ps(); s1[i] = _mm512_setzero_ps(); }
  int64_t p = 0;
  for (; p + 32 <= cols; p += 32) {
    const __m512 x0 = _mm512_loadu_ps(x + p), x1 = _mm512_loadu_ps(x + p + 16);
    for (int i = 0; i < R; ++i) {
      // The same line kAhead rows on (never faults past the end): the hardware prefetchers alone
      // left one thread at ~2/3 of the bandwidth it reaches with this.
      _mm_prefetch(reinterpret_cast<const char*>(row[i] + kAhead * cols + p), _MM_HINT_T0);
      if constexpr (sizeof(typename S::T) == 4) _mm_prefetch(reinterpret_cast<const char*>(row[i] + kAhead * cols + p + 16), _MM_HINT_T0);
      s0[i] = _mm512_fmadd_ps(S::v16(row[i] + p), x0, s0[i]);
      s1[i] = _mm512_fmadd_ps(S::v16(row[i] + p + 16), x1, s1[i]);
    }
  }
  if (p < cols) {  // the scalar tail of dot_rows: element p + l into lane l; lanes past the end keep their sums
    const int64_t t = cols - p;
    const __mmask16 m0 = static_cast<__mmask16>(t >= 16 ? 0xFFFF : (1u << t) - 1);
    const __mmask16 m1 = static_cast<__mmask16>(t <= 16 ? 0 : (1u << (t - 16)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, x + p), x1 = _mm512_maskz_loadu_ps(m1, x + p + 16);
    for (int i = 0; i < R; ++i) {
      s0[i] = _mm512_mask3_fmadd_ps(S::part16(row[i] + p, m0), x0, s0[i], m0);
      s1[i] = _mm512_mask3_fmadd_ps(S::part16(row[i] + p + 16, m1), x1, s1[i], m1);
    }
  }
  for (int i = 0; i < R; ++i) {
    const __m512 s = _mm512_add_ps(s0[i], s1[i]);  // w = 16
    const float d = fold8(_mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1)));  // w = 8, then 4, 2, 1
    y[r + i] = (acc ? y[r + i] : 0.0f) + d;
  }
}

template <Stored K>
GPTUNE_S512 void dot512(float* y, const void* Xv, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) {
  const auto* X = static_cast<const typename Src<K>::T*>(Xv);
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) dot_group512<K, 4>(y, X, x, cols, r, acc);
  for (; r < r1; ++r) dot_group512<K, 1>(y, X, x, cols, r, acc);
}

// ---- the same on AVX2: dot_rows<16> (lanes 0..7 in s0, 8..15 in s1); the tail goes through memory ----
template <Stored K, int R>
GPTUNE_S256_INLINE void dot_group256(float* y, const typename Src<K>::T* X, const float* x, int64_t cols, int64_t r, bool acc) {
  using S = Src<K>;
  const typename S::T* row[R];
  __m256 s0[R], s1[R];
  for (int i = 0; i < R; ++i) { row[i] = X + (r + i) * cols; s0[i] = _mm256_setzero_ps(); s1[i] = _mm256_setzero_ps(); }
  int64_t p = 0;
  for (; p + 16 <= cols; p += 16) {
    const __m256 x0 = _mm256_loadu_ps(x + p), x1 = _mm256_loadu_ps(x + p + 8);
    for (int i = 0; i < R; ++i) {
      s0[i] = _mm256_fmadd_ps(S::v8(row[i] + p), x0, s0[i]);
      s1[i] = _mm256_fmadd_ps(S::v8(row[i] + p + 8), x1, s1[i]);
    }
  }
  for (int i = 0; i < R; ++i) {
    if (p < cols) {
      alignas(32) float s[16];
      _mm256_store_ps(s, s0[i]);
      _mm256_store_ps(s + 8, s1[i]);
      for (int64_t q = p, l = 0; q < cols; ++q, ++l) s[l] = __builtin_fmaf(S::one(row[i] + q), x[q], s[l]);
      s0[i] = _mm256_load_ps(s);
      s1[i] = _mm256_load_ps(s + 8);
    }
    y[r + i] = (acc ? y[r + i] : 0.0f) + fold8(_mm256_add_ps(s0[i], s1[i]));  // w = 8, then 4, 2, 1
  }
}

template <Stored K>
GPTUNE_S256 void dot256(float* y, const void* Xv, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) {
  const auto* X = static_cast<const typename Src<K>::T*>(Xv);
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) dot_group256<K, 4>(y, X, x, cols, r, acc);
  for (; r < r1; ++r) dot_group256<K, 1>(y, X, x, cols, r, acc);
}

// ---- y[j] = (acc ? y[j] : 0) + sum_r x[r] * X[r, j] for j in [j, j + 16 NV): axpy_rows' sums (one
// FMA chain per column, rows in order), held in NV registers while the rows stream past. The last
// vector covers the columns `last` selects ----
template <Stored K, int NV>
GPTUNE_S512_INLINE void axpy_group512(float* y, const typename Src<K>::T* X, int64_t ld, const float* x, int64_t rows,
                                      int64_t j, __mmask16 last, bool acc) {
  using S = Src<K>;
  __m512 s[NV];
  for (int v = 0; v < NV; ++v) {
    const __mmask16 m = v == NV - 1 ? last : 0xFFFF;
    s[v] = acc ? _mm512_maskz_loadu_ps(m, y + j + 16 * v) : _mm512_setzero_ps();
  }
  const typename S::T* p = X + j;
  for (int64_t r = 0; r < rows; ++r, p += ld) {
    const __m512 xr = _mm512_set1_ps(x[r]);
    // f32 rows kAhead on are prefetched (1.5x for one thread, measured); for 16-bit ones it was slower.
    if constexpr (sizeof(typename S::T) == 4)
      for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(p + kAhead * ld + 16 * v), _MM_HINT_T0);
    for (int v = 0; v < NV - 1; ++v) s[v] = _mm512_fmadd_ps(xr, S::v16(p + 16 * v), s[v]);
    s[NV - 1] = _mm512_fmadd_ps(xr, last == 0xFFFF ? S::v16(p + 16 * (NV - 1)) : S::part16(p + 16 * (NV - 1), last), s[NV - 1]);
  }
  for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(y + j + 16 * v, v == NV - 1 ? last : 0xFFFF, s[v]);
}

template <Stored K>
GPTUNE_S512 void axpy512(float* y, const void* Xv, const float* x, int64_t rows, int64_t cols, int64_t j0, int64_t j1, bool acc) {
  const auto* X = static_cast<const typename Src<K>::T*>(Xv);
  // 16 registers (256 columns) a pass; a narrower rest in passes of 8, 4, 2, 1 registers.
  for (int64_t j = j0; j < j1;) {
    const int64_t w = j1 - j, nv = (w + 15) / 16;
    const __mmask16 last = static_cast<__mmask16>(w % 16 == 0 ? 0xFFFF : (1u << (w % 16)) - 1);
    if (nv >= 16) { axpy_group512<K, 16>(y, X, cols, x, rows, j, nv == 16 ? last : 0xFFFF, acc); j += 256; }
    else if (nv >= 8) { axpy_group512<K, 8>(y, X, cols, x, rows, j, nv == 8 ? last : 0xFFFF, acc); j += 128; }
    else if (nv >= 4) { axpy_group512<K, 4>(y, X, cols, x, rows, j, nv == 4 ? last : 0xFFFF, acc); j += 64; }
    else if (nv >= 2) { axpy_group512<K, 2>(y, X, cols, x, rows, j, nv == 2 ? last : 0xFFFF, acc); j += 32; }
    else { axpy_group512<K, 1>(y, X, cols, x, rows, j, last, acc); j += 16; }
  }
}

// ---- the same on AVX2: 8 registers (64 columns) a pass; columns short of a whole vector one by one ----
template <Stored K, int NV>
GPTUNE_S256_INLINE void axpy_group256(float* y, const typename Src<K>::T* X, int64_t ld, const float* x, int64_t rows, int64_t j, bool acc) {
  using S = Src<K>;
  __m256 s[NV];
  for (int v = 0; v < NV; ++v) s[v] = acc ? _mm256_loadu_ps(y + j + 8 * v) : _mm256_setzero_ps();
  const typename S::T* p = X + j;
  for (int64_t r = 0; r < rows; ++r, p += ld) {
    const __m256 xr = _mm256_set1_ps(x[r]);
    for (int v = 0; v < NV; ++v) s[v] = _mm256_fmadd_ps(xr, S::v8(p + 8 * v), s[v]);
  }
  for (int v = 0; v < NV; ++v) _mm256_storeu_ps(y + j + 8 * v, s[v]);
}

template <Stored K>
GPTUNE_S256 void axpy256(float* y, const void* Xv, const float* x, int64_t rows, int64_t cols, int64_t j0, int64_t j1, bool acc) {
  const auto* X = static_cast<const typename Src<K>::T*>(Xv);
  int64_t j = j0;
  for (; j + 64 <= j1; j += 64) axpy_group256<K, 8>(y, X, cols, x, rows, j, acc);
  for (; j + 16 <= j1; j += 16) axpy_group256<K, 2>(y, X, cols, x, rows, j, acc);
  for (; j + 8 <= j1; j += 8) axpy_group256<K, 1>(y, X, cols, x, rows, j, acc);
  for (; j < j1; ++j) {
    float s = acc ? y[j] : 0.0f;
    for (int64_t r = 0; r < rows; ++r) s = __builtin_fmaf(x[r], Src<K>::one(X + r * cols + j), s);
    y[j] = s;
  }
}

}  // namespace

GemvRowsFn pick_dot_stream(Stored kind) {
  const Isa isa = cpu_isa();
  if (isa == ISA_AVX512) {
    switch (kind) {
      case STORED_F32: return dot512<STORED_F32>;
      case STORED_BF16: return dot512<STORED_BF16>;
      case STORED_F16: return dot512<STORED_F16>;
      default: return nullptr;
    }
  }
  if (isa == ISA_AVX2) {
    switch (kind) {
      case STORED_F32: return dot256<STORED_F32>;
      case STORED_BF16: return dot256<STORED_BF16>;
      case STORED_F16: return dot256<STORED_F16>;
      default: return nullptr;
    }
  }
  return nullptr;
}

GemvColsFn pick_axpy_stream(Stored kind) {
  const Isa isa = cpu_isa();
  if (isa == ISA_AVX512) {
    switch (kind) {
      case STORED_F32: return axpy512<STORED_F32>;
      case STORED_BF16: return axpy512<STORED_BF16>;
      case STORED_F16: return axpy512<STORED_F16>;
      default: return nullptr;
    }
  }
  if (isa == ISA_AVX2) {
    switch (kind) {
      case STORED_F32: return axpy256<STORED_F32>;
      case STORED_BF16: return axpy256<STORED_BF16>;
      case STORED_F16: return axpy256<STORED_F16>;
      default: return nullptr;
    }
  }
  return nullptr;
}

}  // namespace gemm
}  // namespace gptune

#else  // not x86: gemv.cc's generic loops serve every kind

namespace gptune {
namespace gemm {
GemvRowsFn pick_dot_stream(Stored) { return nullptr; }
GemvColsFn pick_axpy_stream(Stored) { return nullptr; }
}  // namespace gemm
}  // namespace gptune

#endif
