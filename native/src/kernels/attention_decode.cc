// Attention against a KV cache (generation): a few queries per head over all cached keys. Memory
// bound (it reads the whole cache once), so plain loops that the compiler vectorises per ISA and
// threads over (batch, query, head) suffice. The cache is a ring (position p in slot p % maxLen), so
// sliding-window layers keep a window-sized one. Reference: src/backend/reference/attention_decode.ts.
#include <algorithm>
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
  const int64_t window = args.dim(12, "window");  // 0: no window
  if (KVH == 0 || H % KVH != 0) args.fail("kvHeads", "must divide heads (" + std::to_string(H) + ")");
  const int64_t need = window > 0 ? std::min(past + Tq, window + Tq - 1) : past + Tq;
  if (need > maxLen) args.fail("past", "+ qLen needs more cache slots than maxLen");
  float* out = args.f32(0, "out", B * Tq * H * D);
  const float* q = args.f32(1, "q", B * Tq * H * D);
  const float* kc = args.f32(2, "kCache", B * maxLen * KVH * D);
  const float* vc = args.f32(3, "vCache", B * maxLen * KVH * D);
  const int64_t group = H / KVH;
  parallel_for(B * Tq * H, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(past + Tq);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t h = item % H, i = (item / H) % Tq, b = item / (H * Tq);
      const int64_t pos = past + i, kh = h / group;
      const int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
      const float* qv = q + ((b * Tq + i) * H + h) * D;
      float mx = -INFINITY;
      for (int64_t s = first; s <= pos; ++s) {
        const float sc = dot(qv, kc + ((b * maxLen + s % maxLen) * KVH + kh) * D, D) * scale;
        scores[s] = sc;
        if (sc > mx) mx = sc;
      }
      float sum = 0;
      for (int64_t s = first; s <= pos; ++s) sum += (scores[s] = std::exp(scores[s] - mx));
      float* o = out + ((b * Tq + i) * H + h) * D;
      for (int64_t d = 0; d < D; ++d) o[d] = 0;
      const float inv = 1.0f / sum;
      for (int64_t s = first; s <= pos; ++s) axpy(o, scores[s] * inv, vc + ((b * maxLen + s % maxLen) * KVH + kh) * D, D);
    }
  });
}

}  // namespace gptune
