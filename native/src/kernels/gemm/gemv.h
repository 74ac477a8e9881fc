// M == 1 gemm without packing (see gemv.cc).
#pragma once
#include <cstdint>

namespace gptune {
namespace gemm {

// c[0:n] = (accumulate ? c : 0) + x[0:k] @ op(B); B is [k, n], or [n, k] when trans_b.
void sgemv(float* c, const float* x, const float* b, int64_t n, int64_t k, bool trans_b, bool accumulate);

}  // namespace gemm
}  // namespace gptune
