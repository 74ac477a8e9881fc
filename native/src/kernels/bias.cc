// Bias kernels of a Linear layer: out += bias per row, and the bias gradient (a sum over rows).
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {

GPTUNE_KERNEL(addBias) {
  int64_t rows = args.dim(2, "rows"), cols = args.dim(3, "cols");
  float* out = args.f32(0, "out", checked_mul(args, rows, cols, "out"));  // [rows, cols]
  const float* bias = args.f32(1, "bias", cols);                           // [cols]
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    dispatch_isa([&](auto) {
      for (int64_t r = r0; r < r1; ++r) {
        float* o = out + r * cols;
        for (int64_t c = 0; c < cols; ++c) o[c] += bias[c];
      }
    });
  });
}

// Threads split the columns, so each column is one float chain in row order, as in the reference:
// the result does not depend on the thread count and no partial sums need merging.
GPTUNE_KERNEL(sumRows) {
  int64_t rows = args.dim(2, "rows"), cols = args.dim(3, "cols");
  float* out = args.f32(0, "out", cols);                                     // [cols]
  const float* x = args.f32(1, "x", checked_mul(args, rows, cols, "x"));     // [rows, cols]
  int64_t grain = (1 << 15) / (rows > 0 ? rows : 1);
  parallel_for(cols, grain < 16 ? 16 : grain, [&](int64_t c0, int64_t c1) {
    dispatch_isa([&](auto) {
      constexpr int64_t kBlock = 512;  // a column block's accumulators stay in L1
      float acc[kBlock];
      for (int64_t cb = c0; cb < c1; cb += kBlock) {
        int64_t nb = c1 - cb < kBlock ? c1 - cb : kBlock;
        for (int64_t c = 0; c < nb; ++c) acc[c] = 0.f;
        for (int64_t r = 0; r < rows; ++r) {
          const float* xr = x + r * cols + cb;
          for (int64_t c = 0; c < nb; ++c) acc[c] += xr[c];
        }
        for (int64_t c = 0; c < nb; ++c) out[cb + c] += acc[c];
      }
    });
  });
}

}  // namespace gptune
