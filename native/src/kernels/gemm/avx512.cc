// AVX-512 GEMM kit: an 8x48 micro-kernel (24 zmm accumulators; per k step three zmm of op(B) and 8
// broadcast op(A) values, 24 FMAs) and packing that transposes 16x16 blocks in registers when needed.
// 8x48 rather than 14x32: 11 loads per 24 FMAs instead of 16 per 28; the load ports, not the FMA
// units, held the 14x32 tile to ~90% of peak on this CPU.
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

constexpr int MR = 8, NR = 48;

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
GPTUNE_AVX512 inline void prefetch_c(const float* c, int64_t ldc, int rows, int nv) {
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < nv + 15; j += 16)
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + std::min(j, nv - 1)), _MM_HINT_T0);
}

// A micro-kernel for MV rows and NV vectors of 16 columns, in intrinsics: the edges of C (fewer rows,
// or a tile of at most 16 or 32 columns, which then costs 1/3 or 2/3 of a full one).
template <int MV, int NV>
GPTUNE_AVX512 void kernel_edge(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int nv) {
  prefetch_c(c, ldc, MV, nv);
  __m512 acc[MV][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MV; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, ap += MR, bp += NR) {
    __m512 b[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < MV; ++r) {
      const __m512 x = _mm512_set1_ps(ap[r]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(x, b[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MV; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      float* cr = c + r * ldc + 16 * v;
      const __mmask16 m = first(nv - 16 * v);
      if (load) acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_maskz_loadu_ps(m, cr));
      _mm512_mask_storeu_ps(cr, m, acc[r][v]);
    }
}

// The full 8x48 tile in inline assembly (GCC's allocation of 24 accumulators + 3 op(B) vectors + a
// broadcast in intrinsics adds moves and spills once the k loop is unrolled). zmm0..23 accumulate
// (row r in zmm 3r..3r+2), zmm24..26 hold the op(B) row, zmm27/28 alternate as the broadcast op(A).
#define GEMM_ROW(u, r, c0, c1, c2, x)                                                  \
  "vbroadcastss " #u "*32+" #r "*4(%[a]), %%zmm" #x "\n\t"                             \
  "vfmadd231ps %%zmm24, %%zmm" #x ", %%zmm" #c0 "\n\t"                                 \
  "vfmadd231ps %%zmm25, %%zmm" #x ", %%zmm" #c1 "\n\t"                                 \
  "vfmadd231ps %%zmm26, %%zmm" #x ", %%zmm" #c2 "\n\t"
#define GEMM_STEP(u)                                                                   \
  "vmovaps " #u "*192(%[b]), %%zmm24\n\t"                                              \
  "vmovaps " #u "*192+64(%[b]), %%zmm25\n\t"                                           \
  "vmovaps " #u "*192+128(%[b]), %%zmm26\n\t"                                          \
  GEMM_ROW(u, 0, 0, 1, 2, 27) GEMM_ROW(u, 1, 3, 4, 5, 28) GEMM_ROW(u, 2, 6, 7, 8, 27)  \
  GEMM_ROW(u, 3, 9, 10, 11, 28) GEMM_ROW(u, 4, 12, 13, 14, 27)                         \
  GEMM_ROW(u, 5, 15, 16, 17, 28) GEMM_ROW(u, 6, 18, 19, 20, 27)                        \
  GEMM_ROW(u, 7, 21, 22, 23, 28)
// C row (masked to nv columns): optionally add the old C, then store; then step to the next row.
#define GEMM_STORE(c0, c1, c2)                                                         \
  "test %[load], %[load]\n\t"                                                          \
  "jz 1f\n\t"                                                                          \
  "vaddps (%[c]), %%zmm" #c0 ", %%zmm" #c0 "%{%[m0]%}\n\t"                             \
  "vaddps 64(%[c]), %%zmm" #c1 ", %%zmm" #c1 "%{%[m1]%}\n\t"                           \
  "vaddps 128(%[c]), %%zmm" #c2 ", %%zmm" #c2 "%{%[m2]%}\n\t"                          \
  "1:\n\t"                                                                             \
  "vmovups %%zmm" #c0 ", (%[c])%{%[m0]%}\n\t"                                          \
  "vmovups %%zmm" #c1 ", 64(%[c])%{%[m1]%}\n\t"                                        \
  "vmovups %%zmm" #c2 ", 128(%[c])%{%[m2]%}\n\t"                                       \
  "add %[ldc], %[c]\n\t"

// The full tile: zero the accumulators, run the k loop, then add the old C (when `load`) and store,
// each row masked to nv columns (33..48).
GPTUNE_AVX512 void kernel_full(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int nv) {
  prefetch_c(c, ldc, MR, nv);
  const __mmask16 m0 = first(nv), m1 = first(nv - 16), m2 = first(nv - 32);
  int64_t ldc_bytes = ldc * 4, quads = kc / 4, rest = kc % 4, ld = load ? 1 : 0;
  __asm__ volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n\t"
      "vmovaps %%zmm0, %%zmm1\n\t" "vmovaps %%zmm0, %%zmm2\n\t" "vmovaps %%zmm0, %%zmm3\n\t"
      "vmovaps %%zmm0, %%zmm4\n\t" "vmovaps %%zmm0, %%zmm5\n\t" "vmovaps %%zmm0, %%zmm6\n\t"
      "vmovaps %%zmm0, %%zmm7\n\t" "vmovaps %%zmm0, %%zmm8\n\t" "vmovaps %%zmm0, %%zmm9\n\t"
      "vmovaps %%zmm0, %%zmm10\n\t" "vmovaps %%zmm0, %%zmm11\n\t" "vmovaps %%zmm0, %%zmm12\n\t"
      "vmovaps %%zmm0, %%zmm13\n\t" "vmovaps %%zmm0, %%zmm14\n\t" "vmovaps %%zmm0, %%zmm15\n\t"
      "vmovaps %%zmm0, %%zmm16\n\t" "vmovaps %%zmm0, %%zmm17\n\t" "vmovaps %%zmm0, %%zmm18\n\t"
      "vmovaps %%zmm0, %%zmm19\n\t" "vmovaps %%zmm0, %%zmm20\n\t" "vmovaps %%zmm0, %%zmm21\n\t"
      "vmovaps %%zmm0, %%zmm22\n\t" "vmovaps %%zmm0, %%zmm23\n\t"
      "test %[quads], %[quads]\n\t"
      "jz 3f\n\t"
      "2:\n\t"  // 4 k steps per iteration
      GEMM_STEP(0) GEMM_STEP(1) GEMM_STEP(2) GEMM_STEP(3)
      "add $128, %[a]\n\t"
      "add $768, %[b]\n\t"
      "dec %[quads]\n\t"
      "jnz 2b\n\t"
      "3:\n\t"
      "test %[rest], %[rest]\n\t"
      "jz 5f\n\t"
      "4:\n\t"  // the last kc % 4 steps
      GEMM_STEP(0)
      "add $32, %[a]\n\t"
      "add $192, %[b]\n\t"
      "dec %[rest]\n\t"
      "jnz 4b\n\t"
      "5:\n\t"
      GEMM_STORE(0, 1, 2) GEMM_STORE(3, 4, 5) GEMM_STORE(6, 7, 8) GEMM_STORE(9, 10, 11)
      GEMM_STORE(12, 13, 14) GEMM_STORE(15, 16, 17) GEMM_STORE(18, 19, 20) GEMM_STORE(21, 22, 23)
      : [a] "+r"(ap), [b] "+r"(bp), [c] "+r"(c), [quads] "+r"(quads), [rest] "+r"(rest)
      : [ldc] "r"(ldc_bytes), [load] "r"(ld), [m0] "Yk"(m0), [m1] "Yk"(m1), [m2] "Yk"(m2)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
        "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28");
}
#undef GEMM_ROW
#undef GEMM_STEP
#undef GEMM_STORE

using EdgeKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, bool, int);
template <int NV, int... I>
constexpr std::array<EdgeKernel, sizeof...(I)> edge_kernels(std::integer_sequence<int, I...>) { return {kernel_edge<I + 1, NV>...}; }

GPTUNE_AVX512 void kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int mv, int nv) {
  // [vectors - 1][rows - 1]
  static constexpr std::array<EdgeKernel, MR> edge[3] = {edge_kernels<1>(std::make_integer_sequence<int, MR>()),
    edge_kernels<2>(std::make_integer_sequence<int, MR>()), edge_kernels<3>(std::make_integer_sequence<int, MR>())};
  if (mv == MR && nv > 32) kernel_full(kc, ap, bp, c, ldc, load, nv);
  else edge[(nv - 1) / 16][mv - 1](kc, ap, bp, c, ldc, load, nv);
}

GPTUNE_AVX512 void pack_a(float* dst, const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc, int64_t kc) {
  if (trans) {
    // A is [K,M]: a k step of a panel is mv contiguous floats. Walk 8 k steps across all panels at a
    // time, so the 8 source rows (4 KiB apart for M=1024, one L1 set) stay cached between panels.
    for (int64_t p = 0; p < kc; p += 8) {
      const int64_t pn = std::min<int64_t>(8, kc - p);
      for (int64_t i = 0; i < mc; i += MR) {
        const __mmask8 mm = static_cast<__mmask8>(first(mc - i));
        const float* src = a + (p0 + p) * lda + i0 + i;
        float* d = dst + i * kc + p * MR;
        for (int64_t q = 0; q < pn; ++q) _mm256_storeu_ps(d + q * MR, _mm256_maskz_loadu_ps(mm, src + q * lda));
      }
    }
    return;
  }
  // A is [M,K]: transpose 16 rows (two panels) x 16 k steps at a time; each transposed vector holds
  // one k step of both panels (low and high halves).
  for (int64_t i = 0; i < mc; i += 2 * MR, dst += 2 * MR * kc) {
    const int64_t mv = std::min<int64_t>(2 * MR, mc - i);
    const float* src = a + (i0 + i) * lda + p0;
    for (int64_t p = 0; p < kc; p += 16) {
      const __mmask16 pm = first(kc - p);
      __m512 r[16];
      for (int q = 0; q < 16; ++q) r[q] = q < mv ? _mm512_maskz_loadu_ps(pm, src + q * lda + p) : _mm512_setzero_ps();
      transpose16(r);
      const int64_t pn = std::min<int64_t>(16, kc - p);
      for (int q = 0; q < pn; ++q) {
        _mm256_storeu_ps(dst + (p + q) * MR, _mm512_castps512_ps256(r[q]));
        if (mv > MR) _mm256_storeu_ps(dst + MR * kc + (p + q) * MR, _mm512_extractf32x8_ps(r[q], 1));
      }
    }
  }
}

GPTUNE_AVX512 void pack_b(float* dst, const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc, int64_t nc) {
  for (int64_t j = 0; j < nc; j += NR, dst += NR * kc) {
    const int64_t nv = std::min<int64_t>(NR, nc - j);
    if (!trans) {  // B is [K,N]: each k step is nv contiguous floats
      const __mmask16 m0 = first(nv), m1 = first(nv - 16), m2 = first(nv - 32);
      const float* src = b + p0 * ldb + j0 + j;
      for (int64_t p = 0; p < kc; ++p) {
        _mm512_store_ps(dst + p * NR, _mm512_maskz_loadu_ps(m0, src + p * ldb));
        _mm512_store_ps(dst + p * NR + 16, _mm512_maskz_loadu_ps(m1, src + p * ldb + 16));
        _mm512_store_ps(dst + p * NR + 32, _mm512_maskz_loadu_ps(m2, src + p * ldb + 32));
      }
    } else {  // B is [N,K]: transpose 16 columns x 16 k steps at a time (vectors past nv are never read)
      const float* src = b + (j0 + j) * ldb + p0;
      for (int64_t p = 0; p < kc; p += 16) {
        const __mmask16 pm = first(kc - p);
        const int64_t pn = std::min<int64_t>(16, kc - p);
        for (int h = 0; h < nv; h += 16) {
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
  static const Kit kit{MR, NR, 16, 384, 672, 128, 256 << 10, kernel, pack_a, pack_b};
  return kit;
}
#else
const Kit& kit_avx512() { return kit_scalar(); }
#endif

}  // namespace gemm
}  // namespace gptune
