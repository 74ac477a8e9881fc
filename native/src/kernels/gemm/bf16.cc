// Mixed-precision GEMM, as PyTorch's autocast runs a linear layer: both operands rounded to bf16
// (round to nearest even), products summed in f32 by AVX-512 BF16's vdpbf16ps, which multiplies
// pairs of bf16 along k and adds both products into one f32 lane: twice the f32 FMA's work per
// instruction. Packing puts each pair of consecutive k values side by side in one 32-bit word:
//   Ap: panels of MR rows, [k2][MR] words (a[r, 2p], a[r, 2p+1]); Bp: panels of NR columns,
//   [k2][NR] words (b[2p, j], b[2p+1, j]); an odd k is padded with a zero.
// Without AVX-512 BF16 the caller stays on the f32 path (sgemm_bf16_available() is false).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#include "threads/pool.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace gptune {
namespace gemm {

#if GPTUNE_X86
#define GPTUNE_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))

bool sgemm_bf16_available() {
  static const bool has_bf16 = __builtin_cpu_supports("avx512bf16");
  return has_bf16 && cpu_isa() == ISA_AVX512;  // GPTUNE_ISA=avx2 (or setIsa) turns it off too
}

namespace {

constexpr int MR = 12, NR = 32;  // 12 x 2 zmm accumulators, 2 loads of op(B) and 12 broadcasts per k pair
constexpr int64_t KC2 = 256;     // k pairs per depth block: a packed op(B) block of NB columns is 256 KiB
constexpr int64_t NB = 256;      // columns per block of C a thread takes

struct Words {
  uint32_t* data = nullptr;
  size_t cap = 0;
  ~Words() { std::free(data); }
  uint32_t* get(size_t n) {
    if (n > cap) {
      std::free(data);
      data = static_cast<uint32_t*>(std::aligned_alloc(64, (n * 4 + 63) & ~size_t(63)));
      if (!data) { cap = 0; throw std::bad_alloc(); }
      cap = n;
    }
    return data;
  }
};
thread_local Words t_ap, t_bp, t_row0, t_row1;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// dst[0:n] = bf16(src[0:n]) rounded to nearest even, 16 at a time; dst[n] (when pad) = 0.
GPTUNE_AVX512BF16 void to_bf16(uint16_t* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), reinterpret_cast<__m256i&>(h));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
    _mm256_mask_storeu_epi16(dst + i, m, reinterpret_cast<__m256i&>(h));
  }
}

// One stored row of an operand as bf16 patterns, zero-padded to an even length: f32 rows are
// rounded, bf16 rows copied, f16 rows widened then rounded.
struct RowSource {
  const float* f32;
  const uint16_t* b16;
  Stored kind;
  int64_t ld;
  const uint16_t* row(Words& scratch, int64_t r, int64_t c0, int64_t n) const {
    uint16_t* out = reinterpret_cast<uint16_t*>(scratch.get(ceil_div(n + 1, 2) + 8 + ceil_div(n, 1)));
    out[n] = 0;
    if (b16 && kind == STORED_BF16) { std::memcpy(out, b16 + r * ld + c0, n * 2); return out; }
    if (b16) {  // f16: exact widening first, into the tail of the same scratch
      float* w = reinterpret_cast<float*>(scratch.data + ceil_div(n + 1, 2) + 8);
      widen(w, b16 + r * ld + c0, n, kind);
      to_bf16(out, w, n);
      return out;
    }
    to_bf16(out, f32 + r * ld + c0, n);
    return out;
  }
};

thread_local Words t_rows16;

// pack_pairs' untransposed case for panels 16k wide: 16 rows at a time are converted into [16][pairs]
// words, then each pair's 16 words are gathered into one store (a word-by-word scatter with a
// 4*width-byte stride was most of the time of packing a 262k-row embedding).
GPTUNE_AVX512BF16 void gather_rows(uint32_t* dst, const RowSource& x, int64_t i0, int64_t n, int64_t p0, int64_t kend,
                                   int64_t pairs, int64_t panel_words, int width) {
  uint32_t* rows = t_rows16.get(16 * pairs);
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(static_cast<int>(pairs)));
  for (int64_t r0 = 0; r0 < n; r0 += 16) {
    const int rn = static_cast<int>(std::min<int64_t>(16, n - r0));
    for (int r = 0; r < rn; ++r) std::memcpy(rows + r * pairs, x.row(t_row0, i0 + r0 + r, p0, kend - p0), pairs * 4);
    const __mmask16 live = static_cast<__mmask16>((1u << rn) - 1);
    uint32_t* d = dst + (r0 / width) * panel_words + r0 % width;
    for (int64_t p = 0; p < pairs; ++p)
      _mm512_storeu_si512(d + p * width, _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, idx, rows + p, 4));
  }
}

// pack_pairs' transposed case, 16 words a store: word r of pair row p is (lo[r], hi[r]), hi null = 0.
GPTUNE_AVX512BF16 void interleave(uint32_t* dst, const uint16_t* lo, const uint16_t* hi, int64_t n, int64_t panel_words, int width) {
  for (int64_t r = 0; r < n; r += 16) {
    const __mmask16 m = n - r >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - r)) - 1);
    __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo + r));
    if (hi) w = _mm512_or_si512(w, _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, hi + r)), 16));
    _mm512_mask_storeu_epi32(dst + (r / width) * panel_words + r % width, m, w);
  }
}

// Packs op(X)[i0:i0+rows, p0:p0+2*k2] of X as panels of `width` rows, each [k2][width] words, panel
// after panel. op(X)[i, p] is X[i, p] (pairs along a stored row) or, when trans, X[p, i] (pairs from
// two stored rows, converted whole). Rows past the operand and the odd k's partner are zero.
void pack_pairs(uint32_t* dst, const RowSource& x, bool trans, int64_t rows_total, int64_t k,
                int64_t i0, int64_t rows, int64_t p0, int64_t k2, int width) {
  const int64_t panel_words = k2 * width;
  std::memset(dst, 0, sizeof(uint32_t) * ceil_div(rows, width) * panel_words);
  const int64_t kend = std::min(k, p0 + 2 * k2), n = std::min(rows, rows_total - i0);
  if (!trans) {
    const int64_t pairs = ceil_div(kend - p0, 2);
    if (width % 16 == 0) return gather_rows(dst, x, i0, n, p0, kend, pairs, panel_words, width);
    for (int64_t r = 0; r < n; ++r) {
      const uint32_t* w = reinterpret_cast<const uint32_t*>(x.row(t_row0, i0 + r, p0, kend - p0));
      uint32_t* d = dst + (r / width) * panel_words + r % width;
      for (int64_t p = 0; p < pairs; ++p) d[p * width] = w[p];
    }
    return;
  }
  for (int64_t p = 0; p < k2 && p0 + 2 * p < kend; ++p) {
    const uint16_t* lo = x.row(t_row0, p0 + 2 * p, i0, n);
    const bool has_hi = p0 + 2 * p + 1 < kend;
    const uint16_t* hi = has_hi ? x.row(t_row1, p0 + 2 * p + 1, i0, n) : nullptr;
    if (width % 16 == 0) { interleave(dst + p * width, lo, hi, n, panel_words, width); continue; }
    for (int64_t r = 0; r < n; ++r)
      dst[(r / width) * panel_words + p * width + r % width] = lo[r] | (has_hi ? uint32_t(hi[r]) << 16 : 0u);
  }
}

// C[0:mv, 0:nv] (+)= Ap panel [k2][MR] @ Bp panel [k2][NR].
GPTUNE_AVX512BF16 void kernel(int64_t k2, const uint32_t* ap, const uint32_t* bp, float* c, int64_t ldc,
                               bool load, int mv, int nv) {
  __m512 acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k2; ++p) {
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(bp + p * NR));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(bp + p * NR + 16));
    const uint32_t* a = ap + p * MR;
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[r])));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
    }
  }
  const __mmask16 m0 = nv >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nv) - 1);
  const __mmask16 m1 = nv >= 32 ? __mmask16(0xFFFF) : nv <= 16 ? __mmask16(0) : __mmask16((1u << (nv - 16)) - 1);
  for (int r = 0; r < mv; ++r) {
    float* row = c + r * ldc;
    __m512 v0 = acc[r][0], v1 = acc[r][1];
    if (load) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
    }
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

}  // namespace

int64_t bf16_packed_words(int64_t n, int64_t k) { return ceil_div(k, 2) * ceil_div(n, NR) * NR; }

// All of op(B) as the kernel reads it: depth block d (KC2 pairs) at d * KC2 * npad words, in it the
// NR-column panel holding column j at j / NR * NR * kc2 (npad: n rounded up to NR). sgemm_bf16 reads
// any column block of it in place, so a weight multiplied many times is rounded and packed once.
void pack_bf16_b(uint32_t* dst, const float* b, const uint16_t* b16, Stored bkind, int64_t n, int64_t k, bool trans_b) {
  const RowSource B{b, b16, bkind, trans_b ? k : n};
  const int64_t k2 = ceil_div(k, 2), npad = ceil_div(n, NR) * NR;
  const int64_t depth_blocks = ceil_div(k2, KC2), col_blocks = ceil_div(n, NB);
  parallel_for(depth_blocks * col_blocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t d = t / col_blocks, j0 = (t % col_blocks) * NB;
      const int64_t p0 = d * KC2, kc2 = std::min(KC2, k2 - p0);
      pack_pairs(dst + p0 * npad + j0 * kc2, B, !trans_b, n, k, j0, std::min(NB, n - j0), 2 * p0, kc2, NR);
    }
  });
}

void sgemm_bf16(float* c, const float* a, const float* b, const uint16_t* b16, Stored bkind, int64_t m, int64_t n,
                int64_t k, bool trans_a, bool trans_b, bool accumulate, const uint32_t* bpacked) {
  const RowSource A{a, nullptr, STORED_F32, trans_a ? m : k};
  const RowSource B{b, b16, bkind, trans_b ? k : n};
  const int64_t k2 = ceil_div(k, 2), panels = ceil_div(m, MR), npad = ceil_div(n, NR) * NR;
  const int nt = static_cast<int>(std::min<int64_t>(num_threads(), std::max<int64_t>(1, m * n * k / (1 << 20))));
  // Column blocks of at most NB, as many as a multiple of the threads when there are few (a 640-wide C
  // in 3 blocks of 256 would leave one of 2 threads idle a third of the time).
  int64_t col_blocks = ceil_div(n, NB);
  if (col_blocks < 4 * nt) col_blocks = ceil_div(col_blocks, nt) * nt;
  const int64_t nb = std::min(NB, ceil_div(ceil_div(n, col_blocks), NR) * NR);
  col_blocks = ceil_div(n, nb);
  const int64_t depth_blocks = ceil_div(k2, KC2);
  // op(A) is packed once, all depth blocks, shared: [depth block][panel][kc2][MR].
  uint32_t* ap = t_ap.get(static_cast<size_t>(panels) * MR * k2);
  // Groups of 8 panels: a transposed op(A) is converted 96 stored values at a time.
  const int64_t groups = ceil_div(panels, 8);
  std::atomic<int64_t> next_group{0}, packed{0}, next_block{0};
  parallel_threads([&](int, int) {
    for (int64_t g; (g = next_group.fetch_add(1)) < groups;) {
      for (int64_t d = 0; d < depth_blocks; ++d) {
        const int64_t p0 = d * KC2, kc2 = std::min(KC2, k2 - p0);
        pack_pairs(ap + d * KC2 * panels * MR + g * 8 * kc2 * MR, A, trans_a, m, k, g * 8 * MR,
                   std::min<int64_t>(8, panels - g * 8) * MR, 2 * p0, kc2, MR);
      }
      packed.fetch_add(1);
    }
    while (packed.load() < groups) std::this_thread::yield();
    // Each block of C: nb columns, op(B) packed one depth block at a time (L2), swept by every A
    // panel; or read in place from bpacked (pack_bf16_b's layout).
    uint32_t* bp = bpacked ? nullptr : t_bp.get(static_cast<size_t>(KC2) * NB);
    for (int64_t jb; (jb = next_block.fetch_add(1)) < col_blocks;) {
      const int64_t j0 = jb * nb, nc = std::min(nb, n - j0);
      for (int64_t d = 0; d < depth_blocks; ++d) {
        const int64_t p0 = d * KC2, kc2 = std::min(KC2, k2 - p0);
        const uint32_t* bblk = bpacked ? bpacked + p0 * npad + j0 * kc2 : bp;
        if (!bpacked) pack_pairs(bp, B, !trans_b, n, k, j0, nc, 2 * p0, kc2, NR);
        const bool load = accumulate || d > 0;
        for (int64_t i = 0; i < panels; ++i) {
          const uint32_t* apanel = ap + d * KC2 * panels * MR + i * kc2 * MR;
          const int mv = static_cast<int>(std::min<int64_t>(MR, m - i * MR));
          for (int64_t jr = 0; jr < nc; jr += NR)
            kernel(kc2, apanel, bblk + jr * kc2, c + i * MR * n + j0 + jr, n, load, mv, static_cast<int>(std::min<int64_t>(NR, nc - jr)));
        }
      }
    }
  }, nt);
}

#else
bool sgemm_bf16_available() { return false; }
int64_t bf16_packed_words(int64_t, int64_t) { return 0; }
void pack_bf16_b(uint32_t*, const float*, const uint16_t*, Stored, int64_t, int64_t, bool) {}
void sgemm_bf16(float*, const float*, const float*, const uint16_t*, Stored, int64_t, int64_t, int64_t, bool, bool, bool, const uint32_t*) {}
#endif

}  // namespace gemm
}  // namespace gptune
