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
// Q8_0 / Q4_0 are ggml's blocks of 32 along a stored row (an f16 scale d, then int8 or 4-bit quants);
// dequantized values q*d are exact f32 products, so the same holds for them.
// NF4 is bitsandbytes' NormalFloat4 with double quantization over the flattened matrix (an Nf4View);
// its values NF4[code] * absmax are exact f32 products as well.
enum Stored { STORED_F32 = 0, STORED_BF16 = 1, STORED_F16 = 2, STORED_Q8_0 = 3, STORED_Q4_0 = 4, STORED_NF4 = 5 };
// An NF4 matrix (src/formats/nf4.ts): blocks of 64 values over the stored matrix flattened row-major.
struct Nf4View {
  const uint8_t* q;             // [n/2] two codes a byte, the first in the high nibble
  const uint8_t* absmax_codes;  // [n/64] codes into code8
  const float* absmax2;         // [ceil(n/64/256)] scales of the absmax codes
  const float* code8;           // [256] the signed 8-bit dynamic map
  float offset;                 // added to each dequantized absmax
};
// dst[0:n] = flattened elements e0..e0+n of an NF4 matrix, dequantized (nf4.cc).
void dequant_nf4(float* dst, const Nf4View& w, int64_t e0, int64_t n);
// One IEEE f16 pattern -> f32, exact (widen.cc).
float f16_to_f32(uint16_t h);
// dst[0:n] = src[0:n] widened to f32 (widen.cc).
void widen(float* dst, const uint16_t* src, int64_t n, Stored kind);
// dst[0:n] = elements c0..c0+n of a row of blocks `row`, dequantized (dequant.cc).
void dequant(float* dst, const uint8_t* row, Stored kind, int64_t c0, int64_t n);
// Bytes of one stored row of `cols` values (cols a multiple of 32 for the block kinds).
inline int64_t stored_row_bytes(Stored kind, int64_t cols) {
  switch (kind) {
    case STORED_Q8_0: return cols / 32 * 34;
    case STORED_Q4_0: return cols / 32 * 18;
    case STORED_F32: return cols * 4;
    default: return cols * 2;
  }
}
// dst[0:n] = stored row r (of ld values) of a 16-bit or quantized matrix, columns c0..c0+n, in f32.
inline void load_row(float* dst, const void* base, Stored kind, int64_t ld, int64_t r, int64_t c0, int64_t n) {
  if (kind == STORED_NF4) return dequant_nf4(dst, *static_cast<const Nf4View*>(base), r * ld + c0, n);
  const uint8_t* row = static_cast<const uint8_t*>(base) + r * stored_row_bytes(kind, ld);
  if (kind == STORED_Q8_0 || kind == STORED_Q4_0) dequant(dst, row, kind, c0, n);
  else widen(dst, reinterpret_cast<const uint16_t*>(row) + c0, n, kind);
}

// Matrix-vector products (gemv.cc), used when m or n is 1. X is [rows, cols], row-major.
void gemv_dot(float* y, const float* X, const float* x, int64_t rows, int64_t cols, bool acc);   // y[rows] (+)= X @ x
void gemv_axpy(float* y, const float* X, const float* x, int64_t rows, int64_t cols, bool acc);  // y[cols] (+)= x @ X

// The same with X stored as 16-bit patterns or blocks (any kind but F32): each row is widened as it is read.
void gemv_dot_stored(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc);
void gemv_axpy_stored(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc);

// The same for gemmBf16 (m or n of 1): X (f32, bf16 or f16) rounded to bf16 as each row is read; x
// must be rounded already (round_to_bf16: nearest, ties to even, in place).
void gemv_dot_bf16(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc);
void gemv_axpy_bf16(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc);
void round_to_bf16(float* x, int64_t n);

// y[r] (+)= dot(X[r, :], x) for r in [r0, r1) with X [rows, cols] as ggml blocks (gemv_quant.cc): the
// fused per-ISA loop for kind Q8_0 / Q4_0, or null where there is none (then rows are dequantized first).
// X is the blocks, or for NF4 (pick_dot_nf4, nf4.cc; rows of whole 64-value blocks) an Nf4View.
using GemvRowsFn = void (*)(float* y, const void* X, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc);
GemvRowsFn pick_dot_blocks(Stored kind);
GemvRowsFn pick_dot_nf4();
// The streaming kernels for kind F32 / BF16 / F16 on AVX2 and AVX-512 (gemv_stream.cc), widening in
// registers; null on the scalar ISA. Axpy form: y[j] (+)= sum_r x[r] * X[r, j] for j in [j0, j1).
using GemvColsFn = void (*)(float* y, const void* X, const float* x, int64_t rows, int64_t cols, int64_t j0, int64_t j1, bool acc);
GemvRowsFn pick_dot_stream(Stored kind);
GemvColsFn pick_axpy_stream(Stored kind);

// C[M,N] = (accumulate ? C : 0) + op(A) @ op(B) on the pool's threads, with the kit cpu_isa() picks.
void sgemm(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k,
           bool trans_a, bool trans_b, bool accumulate);
// The same with B stored as 16-bit patterns or ggml blocks (any kind but F32), widened while op(B) is packed.
void sgemm_stored_b(float* c, const float* a, const void* b, Stored kind, int64_t m, int64_t n, int64_t k,
                    bool trans_a, bool trans_b, bool accumulate);

// C[M,N] = (accumulate ? C : 0) + bf16(op(A)) @ bf16(op(B)), operands rounded to nearest even, products
// summed in f32 (bf16.cc; vdpbf16ps). B is f32 (b) or 16-bit patterns (b16, kind BF16 or F16). Only
// where sgemm_bf16_available(): AVX-512 BF16, and m, n >= 2 (gemm.cc rounds and calls sgemm otherwise).
bool sgemm_bf16_available();
// bpacked, when given, is all of op(B) from pack_bf16_b (then b and b16 are not read; any m >= 1).
void sgemm_bf16(float* c, const float* a, const float* b, const uint16_t* b16, Stored bkind, int64_t m, int64_t n,
                int64_t k, bool trans_a, bool trans_b, bool accumulate, const uint32_t* bpacked = nullptr);
// op(B) rounded and laid out once for sgemm_bf16 (bf16_packed_words(n, k) 32-bit words).
int64_t bf16_packed_words(int64_t n, int64_t k);
void pack_bf16_b(uint32_t* dst, const float* b, const uint16_t* b16, Stored bkind, int64_t n, int64_t k, bool trans_b);

}  // namespace gemm
}  // namespace gptune
