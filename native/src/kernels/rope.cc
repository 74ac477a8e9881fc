// Rotary position embedding, Hugging Face's rotate_half form: element i pairs with i + D/2.
// out may alias x: each pair is read before it is written. inverse rotates by -theta (the backward).
#include <string>
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {

GPTUNE_KERNEL(rope) {
  int64_t tokens = args.dim(5, "tokens"), heads = args.dim(6, "heads"), head_dim = args.dim(7, "headDim");
  bool inverse = args.flag(8, "inverse");
  if (head_dim % 2 != 0) args.fail("headDim", "must be even, got " + std::to_string(head_dim));
  const int64_t half = head_dim / 2;
  int64_t n = checked_mul(args, checked_mul(args, tokens, heads, "tokens*heads"), head_dim, "tokens*heads*headDim");
  float* out = args.f32(0, "out", n);                    // [tokens, heads, headDim]
  const float* x = args.f32(1, "x", n);                  // [tokens, heads, headDim]
  const size_t cos_len = args.f32_length(2, "cos"), sin_len = args.f32_length(3, "sin");
  const float* cosp = args.f32(2, "cos", 0);             // [maxPos, headDim/2]
  const float* sinp = args.f32(3, "sin", 0);             // [maxPos, headDim/2]
  const int32_t* pos = args.i32(4, "positions", tokens); // [tokens]
  const int64_t max_pos = half == 0 ? 0 : static_cast<int64_t>(std::min(cos_len, sin_len)) / half;
  if (half == 0) return;
  for (int64_t t = 0; t < tokens; ++t) {  // all positions are checked before anything is written
    if (pos[t] < 0 || pos[t] >= max_pos)
      throw ArgError("rope: positions[" + std::to_string(t) + "] = " + std::to_string(pos[t]) + " is outside the " +
                     std::to_string(max_pos) + " rows of cos/sin");
  }
  const float sign = inverse ? -1.f : 1.f;  // rotating by -theta only flips sin
  parallel_for(tokens, (1 << 14) / (heads * head_dim > 0 ? heads * head_dim : 1) + 1, [&](int64_t t0, int64_t t1) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      constexpr int W = V::W;
      const V vsign = V::set1(sign);
      for (int64_t t = t0; t < t1; ++t) {
        const float* c = cosp + pos[t] * half;
        const float* s = sinp + pos[t] * half;
        for (int64_t h = 0; h < heads; ++h) {
          const float* xh = x + (t * heads + h) * head_dim;
          float* oh = out + (t * heads + h) * head_dim;
          for (int64_t i = 0; i < half; i += W) {
            const int m = half - i < W ? static_cast<int>(half - i) : W;
            auto ld = [&](const float* p) { return m == W ? V::load(p + i) : V::loadn(p + i, m, 0.f); };
            V vc = ld(c), vs = ld(s) * vsign, a = ld(xh), b = ld(xh + half);
            V lo = a * vc - b * vs, hi = b * vc + a * vs;
            if (m == W) { lo.store(oh + i); hi.store(oh + half + i); }
            else { lo.storen(oh + i, m); hi.storen(oh + half + i, m); }
          }
        }
      }
    });
  });
}

}  // namespace gptune
