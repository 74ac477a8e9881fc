// AVX2+FMA GEMM kit: a 6x16 micro-kernel (12 ymm accumulators, op(A) broadcast, two ymm of op(B) per
// k step) and packing that transposes 8x8 blocks in registers when the layout needs it.
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif

namespace gptune {
namespace gemm {
#if GPTUNE_X86
namespace {

constexpr int MR = 6, NR = 16;

// Lane mask selecting the first n of 8 floats (for maskload/maskstore).
GPTUNE_AVX2 inline __m256i first(int64_t n) {
  const int v = static_cast<int>(n < 0 ? 0 : n > 8 ? 8 : n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Transposes 8 rows of 8 floats in place: r[i][j] -> r[j][i].
GPTUNE_AVX2 inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {  // u[i+q], lane L: column 4L+q of rows i..i+3
    u[i + 0] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int q = 0; q < 4; ++q) {
    r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
    r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
  }
}

template <int MV>
GPTUNE_AVX2 void kernel_rows(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int nv) {
  __m256 c0[MV], c1[MV];
#pragma GCC unroll 6
  for (int r = 0; r < MV; ++r) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
  for (int64_t p = 0; p < kc; ++p) {
    __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MV; ++r) {
      __m256 a = _mm256_broadcast_ss(ap + r);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
    ap += MR;
    bp += NR;
  }
  if (nv == NR) {
#pragma GCC unroll 6
    for (int r = 0; r < MV; ++r) {
      float* cr = c + r * ldc;
      if (load) {
        c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(cr));
        c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(cr + 8));
      }
      _mm256_storeu_ps(cr, c0[r]);
      _mm256_storeu_ps(cr + 8, c1[r]);
    }
  } else {
    const __m256i m0 = first(nv), m1 = first(nv - 8);
#pragma GCC unroll 6
    for (int r = 0; r < MV; ++r) {
      float* cr = c + r * ldc;
      if (load) {
        c0[r] = _mm256_add_ps(c0[r], _mm256_maskload_ps(cr, m0));
        c1[r] = _mm256_add_ps(c1[r], _mm256_maskload_ps(cr + 8, m1));
      }
      _mm256_maskstore_ps(cr, m0, c0[r]);
      _mm256_maskstore_ps(cr + 8, m1, c1[r]);
    }
  }
}

GPTUNE_AVX2 void kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int mv, int nv) {
  using Fn = void (*)(int64_t, const float*, const float*, float*, int64_t, bool, int);
  static constexpr Fn table[MR] = {kernel_rows<1>, kernel_rows<2>, kernel_rows<3>, kernel_rows<4>, kernel_rows<5>, kernel_rows<6>};
  table[mv - 1](kc, ap, bp, c, ldc, load, nv);
}

GPTUNE_AVX2 void pack_a(float* dst, const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc, int64_t kc) {
  const __m256i keep = first(MR);
  for (int64_t i = 0; i < mc; i += MR, dst += MR * kc) {
    const int mv = static_cast<int>(mc - i < MR ? mc - i : MR);
    if (trans) {  // A is [K,M]: each k step is mv contiguous floats
      const __m256i mm = first(mv);
      const float* src = a + p0 * lda + i0 + i;
      for (int64_t p = 0; p < kc; ++p) _mm256_maskstore_ps(dst + p * MR, keep, _mm256_maskload_ps(src + p * lda, mm));
    } else {  // A is [M,K]: transpose 8 k steps of the panel's rows at a time
      const float* src = a + (i0 + i) * lda + p0;
      for (int64_t p = 0; p < kc; p += 8) {
        const __m256i pm = first(kc - p);
        __m256 r[8];
        for (int q = 0; q < 8; ++q) r[q] = q < mv ? _mm256_maskload_ps(src + q * lda + p, pm) : _mm256_setzero_ps();
        transpose8(r);
        const int pn = static_cast<int>(kc - p < 8 ? kc - p : 8);
        for (int q = 0; q < pn; ++q) _mm256_maskstore_ps(dst + (p + q) * MR, keep, r[q]);
      }
    }
  }
}

GPTUNE_AVX2 void pack_b(float* dst, const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc, int64_t nc) {
  for (int64_t j = 0; j < nc; j += NR, dst += NR * kc) {
    const int64_t nv = nc - j < NR ? nc - j : NR;
    if (!trans) {  // B is [K,N]: each k step is nv contiguous floats
      const __m256i m0 = first(nv), m1 = first(nv - 8);
      const float* src = b + p0 * ldb + j0 + j;
      for (int64_t p = 0; p < kc; ++p) {
        _mm256_store_ps(dst + p * NR, _mm256_maskload_ps(src + p * ldb, m0));
        _mm256_store_ps(dst + p * NR + 8, _mm256_maskload_ps(src + p * ldb + 8, m1));
      }
    } else {  // B is [N,K]: transpose 8 columns x 8 k steps at a time
      const float* src = b + (j0 + j) * ldb + p0;
      for (int64_t p = 0; p < kc; p += 8) {
        const __m256i pm = first(kc - p);
        const int pn = static_cast<int>(kc - p < 8 ? kc - p : 8);
        for (int h = 0; h < NR; h += 8) {
          __m256 r[8];
          for (int q = 0; q < 8; ++q)
            r[q] = h + q < nv ? _mm256_maskload_ps(src + (h + q) * ldb + p, pm) : _mm256_setzero_ps();
          transpose8(r);
          for (int q = 0; q < pn; ++q) _mm256_store_ps(dst + (p + q) * NR + h, r[q]);
        }
      }
    }
  }
}

}  // namespace

const Kit& kit_avx2() {
  static const Kit kit{MR, NR, NR, 256, 512, 72, 256 << 10, kernel, pack_a, pack_b};
  return kit;
}
#else
const Kit& kit_avx2() { return kit_scalar(); }
#endif

}  // namespace gemm
}  // namespace gptune
