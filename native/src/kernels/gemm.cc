// gemm: C[M,N] = (accumulate ? C : 0) + op(A) @ op(B), the engine's hottest loop. This file checks the
// arguments; kernels/gemm/ holds the blocked algorithm (driver.cc) and its per-ISA micro-kernels.
#include "kernels/gemm/kit.h"
#include "registry.h"
#include <cstring>
#include <algorithm>
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

// bf16Hardware(): 1 when gemmBf16 runs on AVX-512 BF16 instructions, else 0.
GPTUNE_KERNEL(bf16Hardware) { result = args.make_number(gemm::sgemm_bf16_available() ? 1 : 0); }

// gemmBf16(c, a, b, m, n, k, transA, transB, accumulate, bKind): the product of op(A) and op(B) each
// rounded to bf16, summed in f32 (mixed precision, as autocast). bKind 0: b is a Float32Array;
// 1: bf16 patterns, 2: f16 patterns (Uint16Array); 3: packBf16's Uint32Array.
GPTUNE_KERNEL(gemmBf16) {
  const int64_t m = args.dim(3, "m"), n = args.dim(4, "n"), k = args.dim(5, "k");
  const bool trans_a = args.flag(6, "transA"), trans_b = args.flag(7, "transB"), accumulate = args.flag(8, "accumulate");
  const int64_t kind = args.dim(9, "bKind");
  if (kind > 3) args.fail("bKind", "must be 0 (f32), 1 (bf16), 2 (f16) or 3 (packBf16's panels)");
  const int64_t mn = product(args, m, n, "m*n"), mk = product(args, m, k, "m*k"), kn = product(args, k, n, "k*n");
  float* c = args.f32(0, "c", mn);
  const float* a = args.f32(1, "a", mk);
  if (kind == 3) {
    // transB was fixed when packed (the caller checks it); the panels are read in place.
    if (!gemm::sgemm_bf16_available()) args.fail("b", "is packed for AVX-512 BF16, which is off now (setIsa): pack it again");
    const uint32_t* bp = args.u32(2, "b", gemm::bf16_packed_words(n, k));
    if (overlap(c, mn, a, mk)) args.fail("c", "overlaps 'a'");
    if (m == 0 || n == 0) return;
    if (k == 0) { if (!accumulate) std::memset(c, 0, sizeof(float) * mn); return; }
    gemm::sgemm_bf16(c, a, nullptr, nullptr, gemm::STORED_F32, m, n, k, trans_a, trans_b, accumulate, bp);
    return;
  }
  const float* b = kind == 0 ? args.f32(2, "b", kn) : nullptr;
  const uint16_t* b16 = kind == 0 ? nullptr : args.u16(2, "b", kn);
  const void* bptr = b ? static_cast<const void*>(b) : static_cast<const void*>(b16);
  const int64_t bbytes = kn * (b ? 4 : 2);
  if (overlap(c, mn, a, mk)) args.fail("c", "overlaps 'a'");
  if (mn > 0 && kn > 0 && reinterpret_cast<const char*>(c) < static_cast<const char*>(bptr) + bbytes &&
      static_cast<const char*>(bptr) < reinterpret_cast<const char*>(c + mn)) args.fail("c", "overlaps 'b'");
  const gemm::Stored stored = kind == 0 ? gemm::STORED_F32 : kind == 1 ? gemm::STORED_BF16 : gemm::STORED_F16;
  if (m == 0 || n == 0) return;
  if (k > 0 && (m == 1 || n == 1)) {
    // A matrix-vector product: the vector rounded once, the matrix rounded row by row as it streams
    // (no copy of it). op(A) [1,K] and op(B) [K,1] are K contiguous values whatever their flags.
    if (m == 1) {
      std::vector<float> x(a, a + k);
      gemm::round_to_bf16(x.data(), k);
      if (trans_b) gemm::gemv_dot_bf16(c, bptr, stored, x.data(), n, k, accumulate);  // B [N,K]
      else gemm::gemv_axpy_bf16(c, bptr, stored, x.data(), k, n, accumulate);         // B [K,N]
    } else {
      std::vector<float> x(k);
      if (b) std::copy(b, b + k, x.begin()); else gemm::widen(x.data(), b16, k, stored);
      gemm::round_to_bf16(x.data(), k);
      if (trans_a) gemm::gemv_axpy_bf16(c, a, gemm::STORED_F32, x.data(), k, m, accumulate);  // A [K,M]
      else gemm::gemv_dot_bf16(c, a, gemm::STORED_F32, x.data(), m, k, accumulate);           // A [M,K]
    }
    return;
  }
  if (k > 0 && gemm::sgemm_bf16_available()) {
    gemm::sgemm_bf16(c, a, b, b16, stored, m, n, k, trans_a, trans_b, accumulate);
    return;
  }
  // Elsewhere: round copies of both operands, then the f32 GEMM (same values, summed in another order).
  std::vector<float> ar(a, a + mk), br(kn);
  gemm::round_to_bf16(ar.data(), mk);
  if (b) std::copy(b, b + kn, br.begin());
  else gemm::widen(br.data(), b16, kn, stored);
  gemm::round_to_bf16(br.data(), kn);
  gemm::sgemm(c, ar.data(), br.data(), m, n, k, trans_a, trans_b, accumulate);
}

// packBf16(b, n, k, transB, reuse, bKind): op(B) rounded to bf16 and laid out in the kernel's panels,
// for gemmBf16 (bKind 3), once for a weight that many products share: into `reuse` (a Uint32Array
// from an earlier call for the same n, k) or a new one; null without AVX-512 BF16. b and bKind as
// gemmBf16's (0 f32, 1 bf16, 2 f16).
GPTUNE_KERNEL(packBf16) {
  const int64_t n = args.dim(1, "n"), k = args.dim(2, "k");
  const bool trans_b = args.flag(3, "transB");
  const int64_t kind = args.dim(5, "bKind");
  if (kind > 2) args.fail("bKind", "must be 0 (f32), 1 (bf16) or 2 (f16)");
  const int64_t kn = product(args, k, n, "k*n");
  const float* b = kind == 0 ? args.f32(0, "b", kn) : nullptr;
  const uint16_t* b16 = kind == 0 ? nullptr : args.u16(0, "b", kn);
  if (!gemm::sgemm_bf16_available()) { napi_get_null(args.env(), &result); return; }
  uint32_t* dst = nullptr;
  const int64_t words = gemm::bf16_packed_words(n, k);
  dst = args.u32(4, "reuse", words, true);
  if (dst) result = args.value(4, "reuse");
  else result = args.make_u32(words, &dst);  // a fresh buffer of hundreds of MB costs its page faults again
  const gemm::Stored stored = kind == 0 ? gemm::STORED_F32 : kind == 1 ? gemm::STORED_BF16 : gemm::STORED_F16;
  gemm::pack_bf16_b(dst, b, b16, stored, n, k, trans_b);
}

}  // namespace gptune
