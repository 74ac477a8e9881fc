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
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_load_si512(bp + p * NR));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_load_si512(bp + p * NR + 16));
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

void sgemm_bf16(float* c, const float* a, const float* b, const uint16_t* b16, Stored bkind, int64_t m, int64_t n,
                int64_t k, bool trans_a, bool trans_b, bool accumulate) {
  const RowSource A{a, nullptr, STORED_F32, trans_a ? m : k};
  const RowSource B{b, b16, bkind, trans_b ? k : n};
  const int64_t k2 = ceil_div(k, 2), panels = ceil_div(m, MR);
  const int64_t depth_blocks = ceil_div(k2, KC2), col_blocks = ceil_div(n, NB);
  // op(A) is packed once, all depth blocks, shared: [depth block][panel][kc2][MR].
  uint32_t* ap = t_ap.get(static_cast<size_t>(panels) * MR * k2);
  const int nt = static_cast<int>(std::min<int64_t>(num_threads(), std::max<int64_t>(1, m * n * k / (1 << 20))));
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
    // Each block of C: NB columns, op(B) packed one depth block at a time (L2), swept by every A panel.
    uint32_t* bp = t_bp.get(static_cast<size_t>(KC2) * NB);
    for (int64_t jb; (jb = next_block.fetch_add(1)) < col_blocks;) {
      const int64_t j0 = jb * NB, nc = std::min(NB, n - j0);
      for (int64_t d = 0; d < depth_blocks; ++d) {
        const int64_t p0 = d * KC2, kc2 = std::min(KC2, k2 - p0);
        pack_pairs(bp, B, !trans_b, n, k, j0, nc, 2 * p0, kc2, NR);
        const bool load = accumulate || d > 0;
        for (int64_t i = 0; i < panels; ++i) {
          const uint32_t* apanel = ap + d * KC2 * panels * MR + i * kc2 * MR;
          const int mv = static_cast<int>(std::min<int64_t>(MR, m - i * MR));
          for (int64_t jr = 0; jr < nc; jr += NR)
            kernel(kc2, apanel, bp + jr * kc2, c + i * MR * n + j0 + jr, n, load, mv, static_cast<int>(std::min<int64_t>(NR, nc - jr)));
        }
      }
    }
  }, nt);
}

#else
bool sgemm_bf16_available() { return false; }
void sgemm_bf16(float*, const float*, const float*, const uint16_t*, Stored, int64_t, int64_t, int64_t, bool, bool, bool) {}
#endif

}  // namespace gemm
}  // namespace gptune
