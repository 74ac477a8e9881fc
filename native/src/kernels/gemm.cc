// gemm: C[M,N] = (accumulate ? C : 0) + op(A) @ op(B), the engine's hottest loop. This file checks the
// arguments; kernels/gemm/ holds the blocked algorithm (driver.cc) and its per-ISA micro-kernels.
#include "kernels/gemm/kit.h"
#include "registry.h"

namespace gptune {
namespace {

int64_t product(Args& args, int64_t x, int64_t y, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(x, y, &r) || r > (int64_t(1) << 40)) args.fail(what, "is too large");
  return r;
}

bool overlap(const float* p, int64_t np, const float* q, int64_t nq) {
  return np > 0 && nq > 0 && p < q + nq && q < p + np;
}

}  // namespace

GPTUNE_KERNEL(gemm) {
  const int64_t m = args.dim(3, "m"), n = args.dim(4, "n"), k = args.dim(5, "k");
  const bool trans_a = args.flag(6, "transA"), trans_b = args.flag(7, "transB"), accumulate = args.flag(8, "accumulate");
  const int64_t mn = product(args, m, n, "m*n"), mk = product(args, m, k, "m*k"), kn = product(args, k, n, "k*n");
  float* c = args.f32(0, "c", mn);
  const float* a = args.f32(1, "a", mk);
  const float* b = args.f32(2, "b", kn);
  // C is written while A and B are read: overlapping buffers would give garbage, so refuse them.
  if (overlap(c, mn, a, mk)) args.fail("c", "overlaps 'a'");
  if (overlap(c, mn, b, kn)) args.fail("c", "overlaps 'b'");
  gemm::sgemm(c, a, b, m, n, k, trans_a, trans_b, accumulate);
}

}  // namespace gptune

namespace gptune {

// gemmHalf(c, a, b, m, n, k, transA, transB, accumulate, f16): gemm with B as 16-bit patterns
// (Uint16Array; bf16, or f16 when the last flag is set), widened exactly to f32 as it is read.
GPTUNE_KERNEL(gemmHalf) {
  const int64_t m = args.dim(3, "m"), n = args.dim(4, "n"), k = args.dim(5, "k");
  const bool trans_a = args.flag(6, "transA"), trans_b = args.flag(7, "transB"), accumulate = args.flag(8, "accumulate");
  const bool f16 = args.flag(9, "f16");
  const int64_t mn = product(args, m, n, "m*n"), mk = product(args, m, k, "m*k"), kn = product(args, k, n, "k*n");
  float* c = args.f32(0, "c", mn);
  const float* a = args.f32(1, "a", mk);
  const uint16_t* b = args.u16(2, "b", kn);
  if (overlap(c, mn, a, mk)) args.fail("c", "overlaps 'a'");
  if (mn > 0 && kn > 0 && reinterpret_cast<const char*>(c) < reinterpret_cast<const char*>(b + kn) &&
      reinterpret_cast<const char*>(b) < reinterpret_cast<const char*>(c + mn)) args.fail("c", "overlaps 'b'");
  gemm::sgemm_stored_b(c, a, b, f16 ? gemm::STORED_F16 : gemm::STORED_BF16, m, n, k, trans_a, trans_b, accumulate);
}

}  // namespace gptune

namespace gptune {

// gemmQuant(c, a, b, m, n, k, transA, transB, accumulate, q4): gemm with B as ggml blocks along its
// stored rows (Uint8Array; Q8_0, or Q4_0 when the last flag is set), dequantized as op(B) is packed.
GPTUNE_KERNEL(gemmQuant) {
  const int64_t m = args.dim(3, "m"), n = args.dim(4, "n"), k = args.dim(5, "k");
  const bool trans_a = args.flag(6, "transA"), trans_b = args.flag(7, "transB"), accumulate = args.flag(8, "accumulate");
  const gemm::Stored kind = args.flag(9, "q4") ? gemm::STORED_Q4_0 : gemm::STORED_Q8_0;
  const int64_t mn = product(args, m, n, "m*n"), mk = product(args, m, k, "m*k");
  // Stored B is [K,N], or [N,K] when transposed: its rows must be whole 32-value blocks.
  const int64_t rows = trans_b ? n : k, cols = trans_b ? k : n;
  if (cols % 32 != 0) args.fail("b", "rows of " + std::to_string(cols) + " values are not whole 32-value blocks");
  const int64_t bytes = product(args, rows, gemm::stored_row_bytes(kind, cols), "b bytes");
  float* c = args.f32(0, "c", mn);
  const float* a = args.f32(1, "a", mk);
  const uint8_t* b = args.u8(2, "b", bytes);
  if (overlap(c, mn, a, mk)) args.fail("c", "overlaps 'a'");
  if (mn > 0 && bytes > 0 && reinterpret_cast<const uint8_t*>(c) < b + bytes &&
      b < reinterpret_cast<const uint8_t*>(c + mn)) args.fail("c", "overlaps 'b'");
  gemm::sgemm_stored_b(c, a, b, kind, m, n, k, trans_a, trans_b, accumulate);
}

}  // namespace gptune
