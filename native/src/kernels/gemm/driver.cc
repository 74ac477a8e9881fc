// The blocked GEMM driver (GotoBLAS/BLIS loop order). The pool's threads pack one operand once,
// together, then take blocks of C from a queue; for each block a thread packs an op(B) block that
// stays in L2 and sweeps the micro-kernel over the tiles, one op(A) micro-panel (L1) against the
// op(B) micro-panels in turn. Packing absorbs the transposes and the zero padding.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <new>
#include <thread>
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#include "threads/pool.h"
#if GPTUNE_X86
#include <immintrin.h>
#define GPTUNE_GEMM_PAUSE() _mm_pause()
#else
#define GPTUNE_GEMM_PAUSE() ((void)0)
#endif

namespace gptune {
namespace gemm {
namespace {

// A 64-byte aligned scratch buffer that grows and is reused (one per pool thread and operand).
struct Scratch {
  float* data = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(data); }
  float* get(size_t n) {
    if (n > cap) {
      std::free(data);
      size_t bytes = (n * sizeof(float) + 63) & ~size_t(63);
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data) { cap = 0; throw std::bad_alloc(); }
      cap = n;
    }
    return data;
  }
};
thread_local Scratch t_apack, t_bpack, t_ashared, t_bwide;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Splits `total` into equal blocks of at most `limit`, each a multiple of `unit` (the last may be short).
int64_t even_block(int64_t total, int64_t limit, int64_t unit) {
  int64_t blocks = ceil_div(total, limit);
  return std::min(round_up(ceil_div(total, blocks), unit), round_up(limit, unit));
}

struct Problem {
  float* c;
  const float* a;
  const float* b;
  int64_t m, n, k, lda, ldb;
  int64_t kc;  // depth block
  bool ta, tb, accumulate;
  const void* bs = nullptr;  // B as 16-bit patterns or blocks (then b is null), widened while packed
  Stored bkind = STORED_F32;
};

// kit.pack_b of op(B)[p0:p0+kc, j0:j0+nc]. A 16-bit or quantized B is first widened, only that block,
// into scratch in B's stored layout; the packed panels are then the f32 path's, value for value.
void pack_b(const Kit& kit, const Problem& P, float* dst, int64_t p0, int64_t j0, int64_t kc, int64_t nc) {
  if (!P.bs) { kit.pack_b(dst, P.b, P.ldb, P.tb, p0, j0, kc, nc); return; }
  // Stored B is [K,N] (rows p0.., cols j0..) or, when transposed, [N,K] (rows j0.., cols p0..).
  const int64_t rows = P.tb ? nc : kc, cols = P.tb ? kc : nc;
  const int64_t r0 = P.tb ? j0 : p0, c0 = P.tb ? p0 : j0;
  float* w = t_bwide.get(rows * cols);
  for (int64_t r = 0; r < rows; ++r) load_row(w + r * cols, P.bs, P.bkind, P.ldb, r0 + r, c0, cols);
  kit.pack_b(dst, w, cols, P.tb, 0, 0, kc, nc);
}

// C[m0:m1, n0:n1] of the problem, on the calling thread. `apacked`, when given, holds op(A)[m0:m1, :]
// packed by pack_all_a; `bpacked`, all of op(B) packed by pack_all_b (then n0 = 0, n1 = N). What is
// not given is packed here: op(B) one block (kc x NC, kept in L2) at a time, op(A) MC rows at a time.
void gemm_block(const Kit& kit, const Problem& P, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                const float* apacked, const float* bpacked) {
  const int64_t KC = P.kc;
  const int64_t NC = even_block(n1 - n0, kit.nc, kit.nr);
  const int64_t MC = even_block(m1 - m0, kit.mc, kit.mr);
  const int64_t mpad = round_up(m1 - m0, kit.mr), npad = round_up(P.n, kit.nr);
  float* bp = bpacked ? nullptr : t_bpack.get(KC * NC);  // [NC/nr][KC][nr]
  float* ap = apacked ? nullptr : t_apack.get(MC * KC);  // [MC/mr][KC][mr]
  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min(NC, n1 - jc);
    for (int64_t pc = 0; pc < P.k; pc += KC) {
      const int64_t kc = std::min(KC, P.k - pc);
      const bool load = P.accumulate || pc > 0;
      const float* bblk = bpacked ? bpacked + pc * npad + jc * kc : bp;
      if (!bpacked) pack_b(kit, P, bp, pc, jc, kc, nc);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min(MC, m1 - ic);
        const float* ablk = apacked ? apacked + pc * mpad + (ic - m0) * kc : ap;
        if (!apacked) kit.pack_a(ap, P.a, P.lda, P.ta, ic, pc, mc, kc);
        for (int64_t ir = 0; ir < mc; ir += kit.mr) {
          const int mv = static_cast<int>(std::min<int64_t>(kit.mr, mc - ir));
          for (int64_t jr = 0; jr < nc; jr += kit.nr) {
            const int nv = static_cast<int>(std::min<int64_t>(kit.nr, nc - jr));
            kit.kernel(kc, ablk + ir * kc, bblk + jr * kc, P.c + (ic + ir) * P.n + jc + jr, P.n, load, mv, nv);
          }
        }
      }
    }
  }
}

// Packs micro-panels [p0, p1) of op(A)[m0:m1, :] for every depth block, into dst laid out as
// [depth block at pc: offset pc * mpad][panel][kc][mr], so each panel is packed once per call.
void pack_all_a(const Kit& kit, const Problem& P, float* dst, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const int64_t mpad = round_up(m1 - m0, kit.mr);
  const int64_t i0 = m0 + p0 * kit.mr, i1 = std::min(m1, m0 + p1 * kit.mr);
  for (int64_t pc = 0; pc < P.k && i0 < i1; pc += P.kc) {
    const int64_t kc = std::min(P.kc, P.k - pc);
    kit.pack_a(dst + pc * mpad + p0 * kit.mr * kc, P.a, P.lda, P.ta, i0, pc, i1 - i0, kc);
  }
}

// The same for micro-panels [p0, p1) of all of op(B): [depth block at pc: offset pc * npad][panel][kc][nr].
void pack_all_b(const Kit& kit, const Problem& P, float* dst, int64_t p0, int64_t p1) {
  const int64_t npad = round_up(P.n, kit.nr);
  const int64_t j0 = p0 * kit.nr, j1 = std::min(P.n, p1 * kit.nr);
  for (int64_t pc = 0; pc < P.k && j0 < j1; pc += P.kc) {
    const int64_t kc = std::min(P.kc, P.k - pc);
    pack_b(kit, P, dst + pc * npad + j0 * kc, pc, j0, kc, j1 - j0);
  }
}

// One call's work queue. Threads first pack the shared operand (groups of panels taken from a
// counter), wait until all of it is packed, then take blocks of C from a second counter: a thread
// the OS preempts (2 cores shared with other work) then delays only what it holds, not half the call.
struct Queue {
  std::atomic<int64_t> next_group{0}, packed{0}, next_block{0};

  template <typename Pack, typename Work>
  void run(int64_t panels, int64_t group, int64_t blocks, Pack pack, Work work) {
    for (int64_t g; (g = next_group.fetch_add(group, std::memory_order_relaxed)) < panels;) {
      const int64_t e = std::min(panels, g + group);
      pack(g, e);
      packed.fetch_add(e - g, std::memory_order_acq_rel);
    }
    for (int spin = 0; packed.load(std::memory_order_acquire) < panels; ++spin) {
      if (spin < 4096) GPTUNE_GEMM_PAUSE(); else std::this_thread::yield();
    }
    for (int64_t i; (i = next_block.fetch_add(1, std::memory_order_relaxed)) < blocks;) work(i);
  }
};

const Kit& pick_kit() {
  switch (cpu_isa()) {
    case ISA_AVX512: return kit_avx512();
    case ISA_AVX2: return kit_avx2();
    default: return kit_scalar();
  }
}

}  // namespace

namespace {

void gemm_any(float* c, const float* a, const float* b, const void* bs, Stored bkind, int64_t m, int64_t n, int64_t k,
              bool trans_a, bool trans_b, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::memset(c, 0, sizeof(float) * m * n);
    return;
  }
  // A single row or column of C is a matrix-vector product; op(A) [1,K] (or op(B) [K,1]) is then
  // K contiguous floats whatever its transpose flag.
  if (m == 1) {
    if (bs) {
      if (trans_b) gemv_dot_stored(c, bs, bkind, a, n, k, accumulate);
      else gemv_axpy_stored(c, bs, bkind, a, k, n, accumulate);
    } else if (trans_b) gemv_dot(c, b, a, n, k, accumulate);  // B [N,K]
    else gemv_axpy(c, b, a, k, n, accumulate);                 // B [K,N]
    return;
  }
  if (n == 1) {
    if (bs) {  // op(B) is K contiguous stored values (block kinds: one row, as gemmQuant checks): widen them, then the f32 path's GEMV
      float* w = t_bwide.get(k);
      load_row(w, bs, bkind, k, 0, 0, k);
      b = w;
    }
    if (trans_a) gemv_axpy(c, a, b, k, m, accumulate);    // A [K,M]
    else gemv_dot(c, a, b, m, k, accumulate);             // A [M,K]
    return;
  }
  const Kit& kit = pick_kit();
  // Shared packed operands are bounded to 64 MiB (and kept for the next call: training repeats its shapes).
  constexpr int64_t kMaxPacked = int64_t(16) << 20;

  // Threads: below ~1 MFLOP per thread the hand-off costs more than it saves.
  const int nt = static_cast<int>(std::min<int64_t>(num_threads(), std::max<int64_t>(1, m * n * k / (1 << 19))));
  const int64_t npad = round_up(n, kit.nr);
  const bool wide = nt == 1 || n >= 2 * nt * kit.nr || k * npad > kMaxPacked;
  // Wide C: threads take column blocks of C from a queue, at least 2 each (a preempted thread's share
  // can move) but few (each block streams all of packed op(A) once per depth block), at most NC wide,
  // a multiple of the thread count in number and of equal widths cut at the kernel's cost steps
  // (16 columns on AVX-512), so that the threads' work comes out equal.
  const int64_t want = round_up(std::max<int64_t>(nt == 1 ? 1 : 2 * nt, ceil_div(n, kit.nc)), nt);
  const int64_t width = wide ? std::min(round_up(kit.nc, kit.nr), round_up(ceil_div(n, want), kit.ncut)) : n;
  // Depth blocks as deep as the L2-resident op(B) block allows (each one is a pass over C), but at
  // most 2048 (narrow C would otherwise make op(A) micro-panels of hundreds of KiB).
  const int64_t depth = std::clamp<int64_t>(kit.l2_floats / round_up(width, kit.nr), kit.kc, 2048);
  const Problem P{c, a, b, m, n, k, trans_a ? m : k, trans_b ? k : n, even_block(k, depth, 1), trans_a, trans_b, accumulate, bs, bkind};
  if (wide) {
    // op(A) is packed once, by all threads, in row bands that bound its buffer.
    const int64_t band = std::max<int64_t>(kit.mr, kMaxPacked / k / kit.mr * kit.mr);
    const int64_t blocks = ceil_div(n, width);
    float* ap = t_ashared.get(round_up(std::min(band, m), kit.mr) * k);
    for (int64_t m0 = 0; m0 < m; m0 += band) {
      const int64_t m1 = std::min(m, m0 + band);
      Queue q;
      parallel_threads([&](int, int) {
        q.run(ceil_div(m1 - m0, kit.mr), 8, blocks,
              [&](int64_t p0, int64_t p1) { pack_all_a(kit, P, ap, m0, m1, p0, p1); },
              [&](int64_t i) { gemm_block(kit, P, m0, m1, i * width, std::min(n, (i + 1) * width), ap, nullptr); });
      }, nt);
    }
    return;
  }
  // Narrow C (a few column tiles): op(B) is packed once and the threads take row blocks of C.
  const int64_t rows = round_up(ceil_div(m, 4 * nt), kit.mr), blocks = ceil_div(m, rows);
  float* bp = t_ashared.get(npad * k);
  Queue q;
  parallel_threads([&](int, int) {
    q.run(ceil_div(n, kit.nr), 1, blocks,
          [&](int64_t p0, int64_t p1) { pack_all_b(kit, P, bp, p0, p1); },
          [&](int64_t i) { gemm_block(kit, P, i * rows, std::min(m, (i + 1) * rows), 0, n, nullptr, bp); });
  }, nt);
}

}  // namespace

void sgemm(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k,
           bool trans_a, bool trans_b, bool accumulate) {
  gemm_any(c, a, b, nullptr, STORED_F32, m, n, k, trans_a, trans_b, accumulate);
}

void sgemm_stored_b(float* c, const float* a, const void* b, Stored kind, int64_t m, int64_t n, int64_t k,
                    bool trans_a, bool trans_b, bool accumulate) {
  gemm_any(c, a, nullptr, b, kind, m, n, k, trans_a, trans_b, accumulate);
}

}  // namespace gemm
}  // namespace gptune
