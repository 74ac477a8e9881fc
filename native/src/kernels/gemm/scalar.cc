// Portable GEMM kit (no AVX): a 4x8 micro-kernel in plain C++ that the compiler may map onto SSE2.
// It keeps the blocked algorithm testable on any CPU and is the fallback when AVX2 is missing.
#include "kernels/gemm/kit.h"

namespace gptune {
namespace gemm {
namespace {

constexpr int MR = 4, NR = 8;

void kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int mv, int nv) {
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p, ap += MR, bp += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[r][j] += ap[r] * bp[j];
  for (int r = 0; r < mv; ++r)
    for (int j = 0; j < nv; ++j) c[r * ldc + j] = (load ? c[r * ldc + j] : 0.0f) + acc[r][j];
}

void pack_a(float* dst, const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc, int64_t kc) {
  for (int64_t i = 0; i < mc; i += MR, dst += MR * kc)
    for (int64_t p = 0; p < kc; ++p)
      for (int r = 0; r < MR; ++r) {
        const int64_t row = i0 + i + r, col = p0 + p;  // op(A)[row, col]
        dst[p * MR + r] = i + r >= mc ? 0.0f : trans ? a[col * lda + row] : a[row * lda + col];
      }
}

void pack_b(float* dst, const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc, int64_t nc) {
  for (int64_t j = 0; j < nc; j += NR, dst += NR * kc)
    for (int64_t p = 0; p < kc; ++p)
      for (int q = 0; q < NR; ++q) {
        const int64_t row = p0 + p, col = j0 + j + q;  // op(B)[row, col]
        dst[p * NR + q] = j + q >= nc ? 0.0f : trans ? b[col * ldb + row] : b[row * ldb + col];
      }
}

}  // namespace

const Kit& kit_scalar() {
  static const Kit kit{MR, NR, NR, 256, 512, 64, 256 << 10, kernel, pack_a, pack_b};
  return kit;
}

}  // namespace gemm
}  // namespace gptune
