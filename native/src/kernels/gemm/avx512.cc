// AVX-512 GEMM kit: a 14x32 micro-kernel (28 zmm accumulators, op(A) broadcast from memory, two zmm of
// op(B) per k step) and packing that transposes 16x16 blocks in registers when the layout needs it.
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif
// GCC 12 flags the placeholder operands inside its own AVX-512 intrinsics (false positives).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace gptune {
namespace gemm {
#if GPTUNE_X86
namespace {

constexpr int MR = 14, NR = 32;

// Transposes 16 rows of 16 floats in place: r[i][j] -> r[j][i].
GPTUNE_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);     // per 128-bit lane: a0 b0 a1 b1
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); //                  a2 b2 a3 b3
  }
  for (int i = 0; i < 16; i += 4) {  // u[i+q], lane L: column 4L+q of rows i..i+3
    u[i + 0] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int q = 0; q < 4; ++q) {  // gather lane L of u[q], u[4+q], u[8+q], u[12+q] into r[4L+q]
    __m512 v0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44), v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xEE);
    __m512 w0 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44), w1 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xEE);
    r[q] = _mm512_shuffle_f32x4(v0, w0, 0x88);
    r[4 + q] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
    r[8 + q] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    r[12 + q] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
  }
}

GPTUNE_AVX512 inline __mmask16 first(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// The micro-kernel for the first MV rows of a micro-panel (MV < MR only at the bottom edge of C).
template <int MV>
GPTUNE_AVX512 void kernel_rows(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int nv) {
  __m512 c0[MV], c1[MV];
#pragma GCC unroll 14
  for (int r = 0; r < MV; ++r) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); }
  for (int64_t p = 0; p < kc; ++p) {
    __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 14
    for (int r = 0; r < MV; ++r) {
      __m512 a = _mm512_set1_ps(ap[r]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
    ap += MR;
    bp += NR;
  }
  const __mmask16 m0 = first(nv), m1 = first(nv - 16);
#pragma GCC unroll 14
  for (int r = 0; r < MV; ++r) {
    float* cr = c + r * ldc;
    if (load) {
      c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
      c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, c0[r]);
    _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
  }
}

template <int... I>
struct RowKernels {
  using Fn = void (*)(int64_t, const float*, const float*, float*, int64_t, bool, int);
  static constexpr Fn table[] = {kernel_rows<I + 1>...};
};

GPTUNE_AVX512 void kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int mv, int nv) {
  RowKernels<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13>::table[mv - 1](kc, ap, bp, c, ldc, load, nv);
}

GPTUNE_AVX512 void pack_a(float* dst, const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc, int64_t kc) {
  for (int64_t i = 0; i < mc; i += MR, dst += MR * kc) {
    const int mv = static_cast<int>(mc - i < MR ? mc - i : MR);
    if (trans) {  // A is [K,M]: each k step is mv contiguous floats
      const __mmask16 mm = first(mv);
      const float* src = a + p0 * lda + i0 + i;
      for (int64_t p = 0; p < kc; ++p)
        _mm512_mask_storeu_ps(dst + p * MR, 0x3FFF, _mm512_maskz_loadu_ps(mm, src + p * lda));
    } else {  // A is [M,K]: transpose 16 k steps of the panel's rows at a time
      const float* src = a + (i0 + i) * lda + p0;
      for (int64_t p = 0; p < kc; p += 16) {
        const __mmask16 pm = first(kc - p);
        __m512 r[16];
        for (int q = 0; q < 16; ++q) r[q] = q < mv ? _mm512_maskz_loadu_ps(pm, src + q * lda + p) : _mm512_setzero_ps();
        transpose16(r);
        const int pn = static_cast<int>(kc - p < 16 ? kc - p : 16);
        for (int q = 0; q < pn; ++q) _mm512_mask_storeu_ps(dst + (p + q) * MR, 0x3FFF, r[q]);
      }
    }
  }
}

GPTUNE_AVX512 void pack_b(float* dst, const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc, int64_t nc) {
  for (int64_t j = 0; j < nc; j += NR, dst += NR * kc) {
    const int64_t nv = nc - j < NR ? nc - j : NR;
    if (!trans) {  // B is [K,N]: each k step is nv contiguous floats
      const __mmask16 m0 = first(nv), m1 = first(nv - 16);
      const float* src = b + p0 * ldb + j0 + j;
      for (int64_t p = 0; p < kc; ++p) {
        _mm512_store_ps(dst + p * NR, _mm512_maskz_loadu_ps(m0, src + p * ldb));
        _mm512_store_ps(dst + p * NR + 16, _mm512_maskz_loadu_ps(m1, src + p * ldb + 16));
      }
    } else {  // B is [N,K]: transpose 16 columns x 16 k steps at a time
      const float* src = b + (j0 + j) * ldb + p0;
      for (int64_t p = 0; p < kc; p += 16) {
        const __mmask16 pm = first(kc - p);
        const int pn = static_cast<int>(kc - p < 16 ? kc - p : 16);
        for (int h = 0; h < NR; h += 16) {
          __m512 r[16];
          for (int q = 0; q < 16; ++q)
            r[q] = h + q < nv ? _mm512_maskz_loadu_ps(pm, src + (h + q) * ldb + p) : _mm512_setzero_ps();
          transpose16(r);
          for (int q = 0; q < pn; ++q) _mm512_store_ps(dst + (p + q) * NR + h, r[q]);
        }
      }
    }
  }
}

}  // namespace

const Kit& kit_avx512() {
  static const Kit kit{MR, NR, 384, 640, 140, kernel, pack_a, pack_b};
  return kit;
}
#else
const Kit& kit_avx512() { return kit_scalar(); }
#endif

}  // namespace gemm
}  // namespace gptune
