// Embedding lookup (row gather) and its backward (scatter-add; ids may repeat). The backward splits
// dweight's columns over threads, so repeated ids never race and the sum order is the reference's.
#include <cstring>
#include <string>
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {
namespace {

void check_ids(const char* kernel, const int32_t* ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw ArgError(std::string(kernel) + ": ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                     " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

}  // namespace

GPTUNE_KERNEL(embeddingForward) {
  int64_t n = args.dim(3, "n"), dim = args.dim(4, "dim");
  float* out = args.f32(0, "out", checked_mul(args, n, dim, "out"));  // [n, dim]
  const int64_t vocab = dim > 0 ? static_cast<int64_t>(args.f32_length(1, "weight")) / dim : 0;
  const float* weight = args.f32(1, "weight", 0);                     // [vocab, dim]
  const int32_t* ids = args.i32(2, "ids", n);                         // [n]
  check_ids("embeddingForward", ids, n, vocab);
  parallel_for(n, row_grain(dim), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) std::memcpy(out + i * dim, weight + ids[i] * dim, sizeof(float) * dim);
  });
}

GPTUNE_KERNEL(embeddingBackward) {
  int64_t n = args.dim(3, "n"), dim = args.dim(4, "dim");
  const int64_t vocab = dim > 0 ? static_cast<int64_t>(args.f32_length(0, "dweight")) / dim : 0;
  float* dweight = args.f32(0, "dweight", 0);                                  // [vocab, dim]
  const float* dout = args.f32(1, "dout", checked_mul(args, n, dim, "dout"));  // [n, dim]
  const int32_t* ids = args.i32(2, "ids", n);                                  // [n]
  check_ids("embeddingBackward", ids, n, vocab);
  int64_t grain = (1 << 15) / (n > 0 ? n : 1);
  parallel_for(dim, grain < 64 ? 64 : grain, [&](int64_t c0, int64_t c1) {
    dispatch_isa([&](auto) {
      for (int64_t i = 0; i < n; ++i) {
        float* dst = dweight + ids[i] * dim;
        const float* src = dout + i * dim;
        for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
      }
    });
  });
}

}  // namespace gptune
