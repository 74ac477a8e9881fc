// The single-row case of gemm (M == 1: decoding one token). Packing B would triple the memory
// traffic of a problem that is bound by reading B once, so B is streamed as it is stored: rows of
// B scaled and added (B [K, N]), or dot products with rows of B (transB, B [N, K]). Threads split N.
#include <algorithm>
#include "kernels/gemm/gemv.h"
#include "threads/pool.h"

namespace gptune {
namespace gemm {
namespace {

#define GPTUNE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// y[0:n] += sum over p of x[p] * b[p*ldb : p*ldb + n] (rows of B, four at a time to save y traffic).
GPTUNE_CLONES void rows_axpy(float* y, const float* x, const float* b, int64_t k, int64_t n, int64_t ldb) {
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    const float x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3];
    const float *b0 = b + p * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
    for (int64_t j = 0; j < n; ++j) y[j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j];
  }
  for (; p < k; ++p) {
    const float xp = x[p];
    const float* bp = b + p * ldb;
    for (int64_t j = 0; j < n; ++j) y[j] += xp * bp[j];
  }
}

// Dot product with 16 independent partial sums, so the compiler vectorises it without reassociating.
GPTUNE_CLONES float dot(const float* x, const float* r, int64_t k) {
  float acc[16] = {0};
  int64_t p = 0;
  for (; p + 16 <= k; p += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[p + l] * r[p + l];
  float s = 0;
  for (int l = 0; l < 16; ++l) s += acc[l];
  for (; p < k; ++p) s += x[p] * r[p];
  return s;
}

}  // namespace

void sgemv(float* c, const float* x, const float* b, int64_t n, int64_t k, bool trans_b, bool accumulate) {
  // Below ~64K multiply-adds a thread hand-off costs more than it saves.
  const int64_t grain = std::max<int64_t>(64, (int64_t(1) << 16) / std::max<int64_t>(k, 1));
  if (trans_b) {
    parallel_for(n, grain, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const float d = dot(x, b + j * k, k);
        c[j] = accumulate ? c[j] + d : d;
      }
    });
  } else {
    parallel_for(n, grain, [&](int64_t j0, int64_t j1) {
      // Column blocks that keep their slice of y in L1 while all K rows stream past.
      for (int64_t jb = j0; jb < j1; jb += 1024) {
        const int64_t w = std::min<int64_t>(1024, j1 - jb);
        if (!accumulate) std::fill(c + jb, c + jb + w, 0.0f);
        rows_axpy(c + jb, x, b + jb, k, w, n);
      }
    });
  }
}

}  // namespace gemm
}  // namespace gptune
