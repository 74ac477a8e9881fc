// The blocked GEMM driver (GotoBLAS/BLIS loop order): split C over the pool's threads, then per
// thread pack an op(B) block that stays in L2, pack op(A) a few micro-panels at a time (L1), and
// sweep the micro-kernel over the tiles. Packing absorbs the transposes and the zero padding.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#include "threads/pool.h"

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
thread_local Scratch t_apack, t_bpack;

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
  bool ta, tb, accumulate;
};

// C[m0:m1, n0:n1] of the problem, on the calling thread.
void gemm_block(const Kit& kit, const Problem& P, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t KC = even_block(P.k, kit.kc, 1);
  const int64_t NC = even_block(n1 - n0, kit.nc, kit.nr);
  const int64_t MC = even_block(m1 - m0, kit.mc, kit.mr);
  float* bp = t_bpack.get(KC * NC);  // [NC/nr][KC][nr]
  float* ap = t_apack.get(MC * KC);  // [MC/mr][KC][mr]
  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min(NC, n1 - jc);
    for (int64_t pc = 0; pc < P.k; pc += KC) {
      const int64_t kc = std::min(KC, P.k - pc);
      const bool load = P.accumulate || pc > 0;
      kit.pack_b(bp, P.b, P.ldb, P.tb, pc, jc, kc, nc);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min(MC, m1 - ic);
        kit.pack_a(ap, P.a, P.lda, P.ta, ic, pc, mc, kc);
        for (int64_t ir = 0; ir < mc; ir += kit.mr) {
          const int mv = static_cast<int>(std::min<int64_t>(kit.mr, mc - ir));
          for (int64_t jr = 0; jr < nc; jr += kit.nr) {
            const int nv = static_cast<int>(std::min<int64_t>(kit.nr, nc - jr));
            kit.kernel(kc, ap + ir * kc, bp + jr * kc, P.c + (ic + ir) * P.n + jc + jr, P.n, load, mv, nv);
          }
        }
      }
    }
  }
}

const Kit& pick_kit() {
  switch (cpu_isa()) {
    case ISA_AVX512: return kit_avx512();
    case ISA_AVX2: return kit_avx2();
    default: return kit_scalar();
  }
}

}  // namespace

void sgemm(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k,
           bool trans_a, bool trans_b, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::memset(c, 0, sizeof(float) * m * n);
    return;
  }
  const Kit& kit = pick_kit();
  const Problem P{c, a, b, m, n, k, trans_a ? m : k, trans_b ? k : n, trans_a, trans_b, accumulate};

  // Threads: below ~1 MFLOP per thread the hand-off costs more than it saves.
  int nt = static_cast<int>(std::min<int64_t>(num_threads(), std::max<int64_t>(1, m * n * k / (1 << 19))));
  if (nt <= 1) { gemm_block(kit, P, 0, m, 0, n); return; }

  // Split C into a tm x tn grid of thread blocks (whole micro-tiles each), choosing the grid that
  // minimises the busiest thread's estimated cycles: FMA work plus packing (re-packing op(A) per NC block).
  const int64_t mt = ceil_div(m, kit.mr), ntl = ceil_div(n, kit.nr);
  int best_tm = 1;
  double best = 1e300;
  for (int tm = 1; tm <= nt; ++tm) {
    if (nt % tm) continue;
    const int tn = nt / tm;
    if (tm > mt || tn > ntl) continue;
    const double rows = double(ceil_div(mt, tm) * kit.mr), cols = double(ceil_div(ntl, tn) * kit.nr);
    const double fma = rows * cols * double(k) / 32.0;  // cycles at 2 FMAs x 16 lanes per cycle
    const double pack = 0.5 * double(k) * (cols + rows * double(ceil_div(int64_t(cols), kit.nc)));
    if (fma + pack < best) { best = fma + pack; best_tm = tm; }
  }
  const int tm = best_tm, tn = nt / tm;
  parallel_threads([&](int tid, int) {
    const int im = tid / tn, jn = tid % tn;
    const int64_t m0 = std::min(m, mt * im / tm * kit.mr), m1 = std::min(m, mt * (im + 1) / tm * kit.mr);
    const int64_t n0 = std::min(n, ntl * jn / tn * kit.nr), n1 = std::min(n, ntl * (jn + 1) / tn * kit.nr);
    if (m0 < m1 && n0 < n1) gemm_block(kit, P, m0, m1, n0, n1);
  }, nt);
}

}  // namespace gemm
}  // namespace gptune
