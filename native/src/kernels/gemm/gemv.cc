// Matrix-vector products for GEMMs with m == 1 or n == 1 (token-by-token generation, bias-like
// shapes): the packed path would pack (and for transposes, transpose) the whole matrix to use 1/32
// of each micro-tile, while a GEMV streams the matrix once. Per-ISA copies of one loop nest.
#include <algorithm>
#include <cstring>
#include <vector>
#include "kernels/gemm/kit.h"
#include "simd/cpu.h"
#include "threads/pool.h"

namespace gptune {
namespace gemm {
namespace {

#define GPTUNE_INLINE inline __attribute__((always_inline))

// y[r] = (acc ? y[r] : 0) + dot(x, X[r, :]) for r in [r0, r1); X is [rows, cols] row-major.
// L independent partial sums per row let the compiler vectorise the dot without reassociating.
// Rows come from `Rows`: F32Rows reads X in place, StoredRows widens or dequantizes each into a buffer first, so
// both run the same arithmetic in the same order (bit-identical results).
struct F32Rows {
  const float* X;
  int64_t cols;
  GPTUNE_INLINE const float* operator()(int64_t r, int64_t j0, int64_t) const { return X + r * cols + j0; }
};
thread_local std::vector<float> t_row;

GPTUNE_INLINE void round_bf16(float* d, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    uint32_t u;
    std::memcpy(&u, d + j, 4);
    const uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
    u = (u & 0x7FFFFFFFu) > 0x7F800000u ? u : r;
    std::memcpy(d + j, &u, 4);
  }
}
// Rows of a stored X widened (or dequantized) into a thread-local buffer as they are read. Round: then
// rounded to bf16 (nearest even, NaN kept) for gemmBf16 with m or n of 1: bf16 x bf16 products are exact
// in f32, so FMAs on them are vdpbf16ps's bf16 products with f32 sums (bf16 rows are rounded already).
template <bool Round>
struct WidenedRows {
  const void* X;
  int64_t cols;
  Stored kind;
  GPTUNE_INLINE const float* operator()(int64_t r, int64_t j0, int64_t w) const {
    if (t_row.size() < size_t(w)) t_row.resize(w);
    float* d = t_row.data();
    if (Round && kind == STORED_F32) std::memcpy(d, static_cast<const float*>(X) + r * cols + j0, w * sizeof(float));
    else load_row(d, X, kind, cols, r, j0, w);
    if (Round && kind != STORED_BF16) round_bf16(d, w);
    return d;
  }
};
using StoredRows = WidenedRows<false>;
using RoundedRows = WidenedRows<true>;

template <int L, typename Rows>
GPTUNE_INLINE void dot_rows(float* y, Rows X, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = X(r, 0, cols);
    float s[L] = {};
    int64_t p = 0;
    for (; p + L <= cols; p += L)
      for (int l = 0; l < L; ++l) s[l] += row[p + l] * x[p + l];
    for (int l = 0; p < cols; ++p, ++l) s[l] += row[p] * x[p];
    for (int w = L / 2; w >= 1; w /= 2)  // pairwise: log2(L) dependent adds, not L
      for (int l = 0; l < w; ++l) s[l] += s[l + w];
    y[r] = (acc ? y[r] : 0.0f) + s[0];
  }
}

// y[j] = (acc ? y[j] : 0) + sum_r x[r] * X[r, j] for j in [j0, j1); X is [rows, cols] row-major.
// Columns go in blocks of 256 whose partial sums stay in L1 while the rows stream past.
template <int L, typename Rows>
GPTUNE_INLINE void axpy_rows(float* y, Rows X, const float* x, int64_t rows, int64_t j0, int64_t j1, bool acc) {
  constexpr int64_t kBlock = 256;
  for (int64_t jb = j0; jb < j1; jb += kBlock) {
    const int64_t w = std::min(kBlock, j1 - jb);
    float s[kBlock];
    for (int64_t j = 0; j < w; ++j) s[j] = acc ? y[jb + j] : 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float xr = x[r];
      const float* row = X(r, jb, w);
      for (int64_t j = 0; j < w; ++j) s[j] += xr * row[j];
    }
    for (int64_t j = 0; j < w; ++j) y[jb + j] = s[j];
  }
}

template <typename Rows> using DotFn = void (*)(float*, Rows, const float*, int64_t, int64_t, int64_t, bool);
template <typename Rows> using AxpyFn = void (*)(float*, Rows, const float*, int64_t, int64_t, int64_t, bool);

#if GPTUNE_X86
template <typename Rows> GPTUNE_AVX512 void dot_avx512(float* y, Rows X, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) { dot_rows<32>(y, X, x, cols, r0, r1, acc); }
template <typename Rows> GPTUNE_AVX2 void dot_avx2(float* y, Rows X, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) { dot_rows<16>(y, X, x, cols, r0, r1, acc); }
template <typename Rows> GPTUNE_AVX512 void axpy_avx512(float* y, Rows X, const float* x, int64_t rows, int64_t j0, int64_t j1, bool acc) { axpy_rows<16>(y, X, x, rows, j0, j1, acc); }
template <typename Rows> GPTUNE_AVX2 void axpy_avx2(float* y, Rows X, const float* x, int64_t rows, int64_t j0, int64_t j1, bool acc) { axpy_rows<8>(y, X, x, rows, j0, j1, acc); }
#endif
template <typename Rows> void dot_scalar(float* y, Rows X, const float* x, int64_t cols, int64_t r0, int64_t r1, bool acc) { dot_rows<8>(y, X, x, cols, r0, r1, acc); }
template <typename Rows> void axpy_scalar(float* y, Rows X, const float* x, int64_t rows, int64_t j0, int64_t j1, bool acc) { axpy_rows<4>(y, X, x, rows, j0, j1, acc); }

template <typename Rows> DotFn<Rows> pick_dot() {
#if GPTUNE_X86
  if (cpu_isa() == ISA_AVX512) return dot_avx512<Rows>;
  if (cpu_isa() == ISA_AVX2) return dot_avx2<Rows>;
#endif
  return dot_scalar<Rows>;
}
template <typename Rows> AxpyFn<Rows> pick_axpy() {
#if GPTUNE_X86
  if (cpu_isa() == ISA_AVX512) return axpy_avx512<Rows>;
  if (cpu_isa() == ISA_AVX2) return axpy_avx2<Rows>;
#endif
  return axpy_scalar<Rows>;
}

constexpr int64_t kGrain = 1 << 16;  // multiply-adds per thread below which one thread does it all

// y [rows] = (acc ? y : 0) + X [rows, cols] @ x [cols]; `stream` (gemv_stream.cc) where the ISA has one.
template <typename Rows>
void dot_any(float* y, Rows X, const float* x, int64_t rows, int64_t cols, bool acc, GemvRowsFn stream = nullptr,
             const void* Xs = nullptr) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1));
  if (stream) {
    parallel_for(rows, grain, [&](int64_t r0, int64_t r1) { stream(y, Xs, x, cols, r0, r1, acc); });
    return;
  }
  const DotFn<Rows> f = pick_dot<Rows>();
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) { f(y, X, x, cols, r0, r1, acc); });
}

// y [cols] = (acc ? y : 0) + x [rows] @ X [rows, cols]
template <typename Rows>
void axpy_any(float* y, Rows X, const float* x, int64_t rows, int64_t cols, bool acc, GemvColsFn stream = nullptr,
              const void* Xs = nullptr) {
  const AxpyFn<Rows> f = pick_axpy<Rows>();
  // Threads take whole 64-column stripes so no two write the same cache line.
  const int64_t stripes = (cols + 63) / 64;
  parallel_for(stripes, std::max<int64_t>(1, kGrain / 64 / std::max<int64_t>(rows, 1)), [&](int64_t s0, int64_t s1) {
    const int64_t j0 = s0 * 64, j1 = std::min(cols, s1 * 64);
    if (stream) stream(y, Xs, x, rows, cols, j0, j1, acc);
    else f(y, X, x, rows, j0, j1, acc);
  });
}

}  // namespace

void gemv_dot(float* y, const float* X, const float* x, int64_t rows, int64_t cols, bool acc) {
  dot_any(y, F32Rows{X, cols}, x, rows, cols, acc, pick_dot_stream(STORED_F32), X);
}
void gemv_axpy(float* y, const float* X, const float* x, int64_t rows, int64_t cols, bool acc) {
  axpy_any(y, F32Rows{X, cols}, x, rows, cols, acc, pick_axpy_stream(STORED_F32), X);
}
void gemv_dot_stored(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc) {
  const GemvRowsFn f = kind == STORED_Q8_0 || kind == STORED_Q4_0 ? pick_dot_blocks(kind)
                       : kind == STORED_NF4 && cols % 64 == 0 ? pick_dot_nf4() : pick_dot_stream(kind);
  dot_any(y, StoredRows{X, cols, kind}, x, rows, cols, acc, f, X);
}
void gemv_axpy_stored(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc) {
  axpy_any(y, StoredRows{X, cols, kind}, x, rows, cols, acc, pick_axpy_stream(kind), X);
}

void gemv_dot_bf16(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc) {
  dot_any(y, RoundedRows{X, cols, kind}, x, rows, cols, acc);
}
void gemv_axpy_bf16(float* y, const void* X, Stored kind, const float* x, int64_t rows, int64_t cols, bool acc) {
  axpy_any(y, RoundedRows{X, cols, kind}, x, rows, cols, acc);
}
void round_to_bf16(float* x, int64_t n) { round_bf16(x, n); }

}  // namespace gemm
}  // namespace gptune
