// gemm: C[M,N] = (accumulate ? C : 0) + op(A) @ op(B), the engine's hottest loop. This file checks the
// arguments; kernels/gemm/ holds the blocked algorithm (driver.cc) and its per-ISA micro-kernels.
#include "kernels/gemm/kit.h"
#include "registry.h"
#include <cstring>
#include <vector>

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

// gemmNf4(c, a, b, m, n, k, transA, transB, accumulate, absmaxCodes, absmax2, code8, offset): gemm with B
// in bitsandbytes' NF4 with double quantization (src/formats/nf4.ts; b its nibbles) over stored B
// flattened row-major ([K,N], or [N,K] when transB), dequantized as op(B) is packed.
GPTUNE_KERNEL(gemmNf4) {
  const int64_t m = args.dim(3, "m"), n = args.dim(4, "n"), k = args.dim(5, "k");
  const bool trans_a = args.flag(6, "transA"), trans_b = args.flag(7, "transB"), accumulate = args.flag(8, "accumulate");
  const int64_t mn = product(args, m, n, "m*n"), mk = product(args, m, k, "m*k"), kn = product(args, k, n, "k*n");
  if (kn % 64 != 0) args.fail("b", std::to_string(kn) + " values are not whole 64-value NF4 blocks");
  const int64_t nb = kn / 64;
  float* c = args.f32(0, "c", mn);
  const float* a = args.f32(1, "a", mk);
  gemm::Nf4View w;
  w.q = args.u8(2, "b", kn / 2);
  w.absmax_codes = args.u8(9, "absmaxCodes", nb);
  w.absmax2 = args.f32(10, "absmax2", (nb + 255) / 256);
  w.code8 = args.f32(11, "code8", 256);
  w.offset = static_cast<float>(args.number(12, "offset"));
  if (overlap(c, mn, a, mk)) args.fail("c", "overlaps 'a'");
  const uint8_t* cb = reinterpret_cast<const uint8_t*>(c);
  if (mn > 0 && cb < w.q + kn / 2 && w.q < reinterpret_cast<const uint8_t*>(c + mn)) args.fail("c", "overlaps 'b'");
  gemm::sgemm_stored_b(c, a, &w, gemm::STORED_NF4, m, n, k, trans_a, trans_b, accumulate);
}

}  // namespace gptune

namespace gptune {
namespace {

// x rounded to the nearest bf16 (ties to even) and widened back: the reference's rounding, for the
// path without AVX-512 BF16. NaN stays NaN.
float round_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return x;
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

}  // namespace

// bf16Hardware(): 1 when gemmBf16 runs on AVX-512 BF16 instructions, else 0.
GPTUNE_KERNEL(bf16Hardware) { result = args.make_number(gemm::sgemm_bf16_available() ? 1 : 0); }

// gemmBf16(c, a, b, m, n, k, transA, transB, accumulate, bKind): the product of op(A) and op(B) each
// rounded to bf16, summed in f32 (mixed precision, as autocast). bKind 0: b is a Float32Array;
// 1: bf16 patterns, 2: f16 patterns (Uint16Array).
GPTUNE_KERNEL(gemmBf16) {
  const int64_t m = args.dim(3, "m"), n = args.dim(4, "n"), k = args.dim(5, "k");
  const bool trans_a = args.flag(6, "transA"), trans_b = args.flag(7, "transB"), accumulate = args.flag(8, "accumulate");
  const int64_t kind = args.dim(9, "bKind");
  if (kind > 2) args.fail("bKind", "must be 0 (f32), 1 (bf16) or 2 (f16)");
  const int64_t mn = product(args, m, n, "m*n"), mk = product(args, m, k, "m*k"), kn = product(args, k, n, "k*n");
  float* c = args.f32(0, "c", mn);
  const float* a = args.f32(1, "a", mk);
  const float* b = kind == 0 ? args.f32(2, "b", kn) : nullptr;
  const uint16_t* b16 = kind == 0 ? nullptr : args.u16(2, "b", kn);
  const void* bptr = b ? static_cast<const void*>(b) : static_cast<const void*>(b16);
  const int64_t bbytes = kn * (b ? 4 : 2);
  if (overlap(c, mn, a, mk)) args.fail("c", "overlaps 'a'");
  if (mn > 0 && kn > 0 && reinterpret_cast<const char*>(c) < static_cast<const char*>(bptr) + bbytes &&
      static_cast<const char*>(bptr) < reinterpret_cast<const char*>(c + mn)) args.fail("c", "overlaps 'b'");
  const gemm::Stored stored = kind == 0 ? gemm::STORED_F32 : kind == 1 ? gemm::STORED_BF16 : gemm::STORED_F16;
  if (m >= 2 && n >= 2 && k > 0 && gemm::sgemm_bf16_available()) {
    gemm::sgemm_bf16(c, a, b, b16, stored, m, n, k, trans_a, trans_b, accumulate);
    return;
  }
  // Elsewhere: round copies of both operands, then the f32 GEMM (same values, summed in another order).
  std::vector<float> ar(a, a + mk), br(kn);
  for (float& x : ar) x = round_bf16(x);
  if (b) for (int64_t i = 0; i < kn; ++i) br[i] = round_bf16(b[i]);
  else { gemm::widen(br.data(), b16, kn, stored); for (float& x : br) x = round_bf16(x); }
  gemm::sgemm(c, ar.data(), br.data(), m, n, k, trans_a, trans_b, accumulate);
}

}  // namespace gptune
