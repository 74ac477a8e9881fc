// Attention against a KV cache (generation): a few queries per head over all cached keys. Memory
// bound (it reads the whole cache once), so plain loops that the compiler vectorises per ISA and
// threads over (batch, query, head) suffice. Reference: src/backend/reference/attention_decode.ts.
#include <cmath>
#include <vector>
#include "registry.h"
#include "threads/pool.h"

namespace gptune {
namespace {

#define GPTUNE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

GPTUNE_CLONES float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
GPTUNE_CLONES void axpy(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

GPTUNE_KERNEL(attentionDecode) {
  const int64_t B = args.dim(4, "batch"), Tq = args.dim(5, "qLen"), past = args.dim(6, "past");
  const int64_t maxLen = args.dim(7, "maxLen"), H = args.dim(8, "heads"), KVH = args.dim(9, "kvHeads");
  const int64_t D = args.dim(10, "headDim");
  const float scale = static_cast<float>(args.number(11, "scale"));
  if (KVH == 0 || H % KVH != 0) args.fail("kvHeads", "must divide heads (" + std::to_string(H) + ")");
  if (past + Tq > maxLen) args.fail("past", "+ qLen exceeds maxLen");
  float* out = args.f32(0, "out", B * Tq * H * D);
  const float* q = args.f32(1, "q", B * Tq * H * D);
  const float* kc = args.f32(2, "kCache", B * maxLen * KVH * D);
  const float* vc = args.f32(3, "vCache", B * maxLen * KVH * D);
  const int64_t group = H / KVH;
  parallel_for(B * Tq * H, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(past + Tq);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t h = item % H, i = (item / H) % Tq, b = item / (H * Tq);
      const int64_t seen = past + i + 1, kh = h / group;
      const float* qv = q + ((b * Tq + i) * H + h) * D;
      float mx = -INFINITY;
      for (int64_t s = 0; s < seen; ++s) {
        const float sc = dot(qv, kc + ((b * maxLen + s) * KVH + kh) * D, D) * scale;
        scores[s] = sc;
        if (sc > mx) mx = sc;
      }
      float sum = 0;
      for (int64_t s = 0; s < seen; ++s) sum += (scores[s] = std::exp(scores[s] - mx));
      float* o = out + ((b * Tq + i) * H + h) * D;
      for (int64_t d = 0; d < D; ++d) o[d] = 0;
      const float inv = 1.0f / sum;
      for (int64_t s = 0; s < seen; ++s) axpy(o, scores[s] * inv, vc + ((b * maxLen + s) * KVH + kh) * D, D);
    }
  });
}

}  // namespace gptune
