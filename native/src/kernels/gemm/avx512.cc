// AVX-512 GEMM kit: a 14x32 micro-kernel (28 zmm accumulators; per k step two zmm of op(B) and 14
// broadcast op(A) values, 28 FMAs) and packing that transposes 16x16 blocks in registers when needed.
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#include <algorithm>
#include <array>
#include <utility>
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

// Starts fetching the C tile's rows: they are needed only after the k loop, thousands of cycles later.
GPTUNE_AVX512 inline void prefetch_c(const float* c, int64_t ldc, int rows) {
  for (int r = 0; r < rows; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }
}

// The micro-kernel for the first MV < MR rows of a micro-panel (the bottom edge of C), in intrinsics.
template <int MV>
GPTUNE_AVX512 void kernel_rows(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int nv) {
  prefetch_c(c, ldc, MV);
  __m512 c0[MV], c1[MV];
#pragma GCC unroll 14
  for (int r = 0; r < MV; ++r) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); }
  for (int64_t p = 0; p < kc; ++p, ap += MR, bp += NR) {
    const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 14
    for (int r = 0; r < MV; ++r) {
      const __m512 x = _mm512_set1_ps(ap[r]);
      c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
    }
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

// The full 14x32 tile in inline assembly: GCC's allocation of 28 accumulators + 2 B vectors + a
// broadcast in intrinsics spills once the k loop is unrolled. zmm0..27 accumulate (row r in zmm 2r,
// 2r+1), zmm28/29 hold the op(B) row, zmm30/31 alternate as the broadcast op(A) value.
#define GEMM_ROW(u, r, c0, c1, x)                                                      \
  "vbroadcastss " #u "*56+" #r "*4(%[a]), %%zmm" #x "\n\t"                             \
  "vfmadd231ps %%zmm28, %%zmm" #x ", %%zmm" #c0 "\n\t"                                 \
  "vfmadd231ps %%zmm29, %%zmm" #x ", %%zmm" #c1 "\n\t"
#define GEMM_STEP(u)                                                                   \
  "vmovaps " #u "*128(%[b]), %%zmm28\n\t"                                              \
  "vmovaps " #u "*128+64(%[b]), %%zmm29\n\t"                                           \
  GEMM_ROW(u, 0, 0, 1, 30) GEMM_ROW(u, 1, 2, 3, 31) GEMM_ROW(u, 2, 4, 5, 30)           \
  GEMM_ROW(u, 3, 6, 7, 31) GEMM_ROW(u, 4, 8, 9, 30) GEMM_ROW(u, 5, 10, 11, 31)         \
  GEMM_ROW(u, 6, 12, 13, 30) GEMM_ROW(u, 7, 14, 15, 31) GEMM_ROW(u, 8, 16, 17, 30)     \
  GEMM_ROW(u, 9, 18, 19, 31) GEMM_ROW(u, 10, 20, 21, 30) GEMM_ROW(u, 11, 22, 23, 31)   \
  GEMM_ROW(u, 12, 24, 25, 30) GEMM_ROW(u, 13, 26, 27, 31)
// C row r (masked to nv columns): optionally add the old C, then store.
#define GEMM_STORE(c0, c1)                                                             \
  "test %[load], %[load]\n\t"                                                          \
  "jz 1f\n\t"                                                                          \
  "vaddps (%[c]), %%zmm" #c0 ", %%zmm" #c0 "%{%[m0]%}\n\t"                             \
  "vaddps 64(%[c]), %%zmm" #c1 ", %%zmm" #c1 "%{%[m1]%}\n\t"                           \
  "1:\n\t"                                                                             \
  "vmovups %%zmm" #c0 ", (%[c])%{%[m0]%}\n\t"                                          \
  "vmovups %%zmm" #c1 ", 64(%[c])%{%[m1]%}\n\t"                                        \
  "add %[ldc], %[c]\n\t"

// The full tile: zero the accumulators, run the k loop, then add the old C (when `load`) and store,
// each row masked to nv columns.
GPTUNE_AVX512 void kernel_full(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int nv) {
  prefetch_c(c, ldc, MR);
  const __mmask16 m0 = first(nv), m1 = first(nv - 16);
  int64_t ldc_bytes = ldc * 4, quads = kc / 4, rest = kc % 4, ld = load ? 1 : 0;
  __asm__ volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n\t"
      "vmovaps %%zmm0, %%zmm2\n\t" "vmovaps %%zmm0, %%zmm3\n\t" "vmovaps %%zmm0, %%zmm4\n\t"
      "vmovaps %%zmm0, %%zmm5\n\t" "vmovaps %%zmm0, %%zmm6\n\t" "vmovaps %%zmm0, %%zmm7\n\t"
      "vmovaps %%zmm0, %%zmm8\n\t" "vmovaps %%zmm0, %%zmm9\n\t" "vmovaps %%zmm0, %%zmm10\n\t"
      "vmovaps %%zmm0, %%zmm11\n\t" "vmovaps %%zmm0, %%zmm12\n\t" "vmovaps %%zmm0, %%zmm13\n\t"
      "vmovaps %%zmm0, %%zmm14\n\t" "vmovaps %%zmm0, %%zmm15\n\t" "vmovaps %%zmm0, %%zmm16\n\t"
      "vmovaps %%zmm0, %%zmm17\n\t" "vmovaps %%zmm0, %%zmm18\n\t" "vmovaps %%zmm0, %%zmm19\n\t"
      "vmovaps %%zmm0, %%zmm20\n\t" "vmovaps %%zmm0, %%zmm21\n\t" "vmovaps %%zmm0, %%zmm22\n\t"
      "vmovaps %%zmm0, %%zmm23\n\t" "vmovaps %%zmm0, %%zmm24\n\t" "vmovaps %%zmm0, %%zmm25\n\t"
      "vmovaps %%zmm0, %%zmm26\n\t" "vmovaps %%zmm0, %%zmm27\n\t"
      "test %[quads], %[quads]\n\t"
      "jz 3f\n\t"
      "2:\n\t"  // 4 k steps per iteration
      GEMM_STEP(0) GEMM_STEP(1) GEMM_STEP(2) GEMM_STEP(3)
      "add $224, %[a]\n\t"
      "add $512, %[b]\n\t"
      "dec %[quads]\n\t"
      "jnz 2b\n\t"
      "3:\n\t"
      "test %[rest], %[rest]\n\t"
      "jz 5f\n\t"
      "4:\n\t"  // the last kc % 4 steps
      GEMM_STEP(0)
      "add $56, %[a]\n\t"
      "add $128, %[b]\n\t"
      "dec %[rest]\n\t"
      "jnz 4b\n\t"
      "5:\n\t"
      GEMM_STORE(0, 1) GEMM_STORE(2, 3) GEMM_STORE(4, 5) GEMM_STORE(6, 7) GEMM_STORE(8, 9)
      GEMM_STORE(10, 11) GEMM_STORE(12, 13) GEMM_STORE(14, 15) GEMM_STORE(16, 17) GEMM_STORE(18, 19)
      GEMM_STORE(20, 21) GEMM_STORE(22, 23) GEMM_STORE(24, 25) GEMM_STORE(26, 27)
      : [a] "+r"(ap), [b] "+r"(bp), [c] "+r"(c), [quads] "+r"(quads), [rest] "+r"(rest)
      : [ldc] "r"(ldc_bytes), [load] "r"(ld), [m0] "Yk"(m0), [m1] "Yk"(m1)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
        "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}
#undef GEMM_ROW
#undef GEMM_STEP
#undef GEMM_STORE

using RowKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, bool, int);
template <int... I>
constexpr std::array<RowKernel, sizeof...(I)> row_kernels(std::integer_sequence<int, I...>) { return {kernel_rows<I + 1>...}; }

GPTUNE_AVX512 void kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int mv, int nv) {
  static constexpr std::array<RowKernel, MR - 1> edge = row_kernels(std::make_integer_sequence<int, MR - 1>());
  if (mv == MR) kernel_full(kc, ap, bp, c, ldc, load, nv);
  else edge[mv - 1](kc, ap, bp, c, ldc, load, nv);
}

GPTUNE_AVX512 void pack_a(float* dst, const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc, int64_t kc) {
  const __mmask16 keep = first(MR);
  // Stores are full 16 floats where that is safe: the 2 extra floats land in the next k step's slot
  // of the same panel, rewritten next. Only a panel's last step needs a (slower) masked store.
  auto store = [&](float* d, __m512 v, int64_t p) GPTUNE_AVX512 {
    if (p + 1 < kc) _mm512_storeu_ps(d, v); else _mm512_mask_storeu_ps(d, keep, v);
  };
  if (trans) {
    // A is [K,M]: a k step of a panel is mv contiguous floats. Walk 8 k steps across all panels at a
    // time, so the 8 source rows (4 KiB apart for M=1024, one L1 set) stay cached between panels.
    for (int64_t p = 0; p < kc; p += 8) {
      const int64_t pn = std::min<int64_t>(8, kc - p);
      for (int64_t i = 0; i < mc; i += MR) {
        const __mmask16 mm = first(mc - i);
        const float* src = a + (p0 + p) * lda + i0 + i;
        float* d = dst + i * kc + p * MR;
        for (int64_t q = 0; q < pn; ++q) store(d + q * MR, _mm512_maskz_loadu_ps(mm, src + q * lda), p + q);
      }
    }
    return;
  }
  // A is [M,K]: transpose 16 k steps of a panel's rows at a time.
  for (int64_t i = 0; i < mc; i += MR, dst += MR * kc) {
    const int64_t mv = std::min<int64_t>(MR, mc - i);
    const float* src = a + (i0 + i) * lda + p0;
    for (int64_t p = 0; p < kc; p += 16) {
      const __mmask16 pm = first(kc - p);
      __m512 r[16];
      for (int q = 0; q < 16; ++q) r[q] = q < mv ? _mm512_maskz_loadu_ps(pm, src + q * lda + p) : _mm512_setzero_ps();
      transpose16(r);
      const int64_t pn = std::min<int64_t>(16, kc - p);
      for (int q = 0; q < pn; ++q) store(dst + (p + q) * MR, r[q], p + q);
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
