// The pieces one instruction set contributes to the blocked GEMM (driver.cc): a register-blocked
// micro-kernel and the two packing routines that lay op(A) and op(B) out in the order it reads them.
#pragma once
#include <cstdint>

namespace gptune {
namespace gemm {

// Packed layouts (both zero-padded to whole micro-panels, so the kernel never branches on edges):
//   Ap: ceil(mc/mr) micro-panels of [kc][mr]: Ap[panel*kc*mr + p*mr + r] = op(A)[i0 + panel*mr + r, p0 + p]
//   Bp: ceil(nc/nr) micro-panels of [kc][nr]: Bp[panel*kc*nr + p*nr + j] = op(B)[p0 + p, j0 + panel*nr + j]
struct Kit {
  int mr, nr;     // micro-tile: mr rows (broadcast side) x nr columns (vector side)
  int ncut;       // blocks of C are cut at multiples of this many columns (the kernel's cost steps)
  int kc, nc, mc; // cache blocking: least depth, most columns per packed B block, rows per packed A block
  int l2_floats;  // a packed op(B) block (depth x block width) is sized to about this many floats of L2
  // C[0:mv, 0:nv] (row stride ldc) = (load ? C : 0) + Ap micro-panel @ Bp micro-panel, mv <= mr, nv <= nr.
  void (*kernel)(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, bool load, int mv, int nv);
  // a is A as stored: [M,K] (lda = K), or [K,M] when trans (lda = M).
  void (*pack_a)(float* dst, const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc, int64_t kc);
  // b is B as stored: [K,N] (ldb = N), or [N,K] when trans (ldb = K).
  void (*pack_b)(float* dst, const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc, int64_t nc);
};

const Kit& kit_avx512();
const Kit& kit_avx2();
const Kit& kit_scalar();

// How a weight operand is stored: f32, or 16-bit patterns widened to f32 on load (exact: every bf16
// and f16 value is an f32 value), so a product with a half-precision weight equals the f32 one bit for bit.
enum Stored { STORED_F32 = 0, STORED_BF16 = 1, STORED_F16 = 2 };
// dst[0:n] = src[0:n] widened to f32 (widen.cc).
void widen(float* dst, const uint16_t* src, int64_t n, Stored kind);

// Matrix-vector products (gemv.cc), used when m or n is 1. X is [rows, cols], row-major.
void gemv_dot(float* y, const float* X, const float* x, int64_t rows, int64_t cols, bool acc);   // y[rows] (+)= X @ x
void gemv_axpy(float* y, const float* X, const float* x, int64_t rows, int64_t cols, bool acc);  // y[cols] (+)= x @ X

// The same with X stored as 16-bit patterns (kind BF16 or F16): each row is widened as it is read.
void gemv_dot_half(float* y, const uint16_t* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc);
void gemv_axpy_half(float* y, const uint16_t* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc);

// C[M,N] = (accumulate ? C : 0) + op(A) @ op(B) on the pool's threads, with the kit cpu_isa() picks.
void sgemm(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k,
           bool trans_a, bool trans_b, bool accumulate);
// The same with B stored as 16-bit patterns (kind BF16 or F16), widened while op(B) is packed.
void sgemm_half_b(float* c, const float* a, const uint16_t* b, Stored kind, int64_t m, int64_t n, int64_t k,
                  bool trans_a, bool trans_b, bool accumulate);

// C[M,N] = (accumulate ? C : 0) + bf16(op(A)) @ bf16(op(B)), operands rounded to nearest even, products
// summed in f32 (bf16.cc; vdpbf16ps). B is f32 (b) or 16-bit patterns (b16, kind BF16 or F16). Only
// where sgemm_bf16_available(): AVX-512 BF16, and m, n >= 2 (gemm.cc rounds and calls sgemm otherwise).
bool sgemm_bf16_available();
void sgemm_bf16(float* c, const float* a, const float* b, const uint16_t* b16, Stored bkind, int64_t m, int64_t n,
                int64_t k, bool trans_a, bool trans_b, bool accumulate);

}  // namespace gemm
}  // namespace gptune
