// Softmax over the last dim, forward (max, exp and sum, scale) and backward from the saved output.
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {
namespace {

template <class V>
inline void softmax_forward_row(float* out, const float* x, int64_t cols) {
  constexpr int W = V::W;
  const int64_t full = cols - cols % W;
  const int rem = static_cast<int>(cols - full);
  V mx = V::set1(-INFINITY);
  for (int64_t c = 0; c < full; c += W) mx = V::max(mx, V::load(x + c));
  if (rem) mx = V::max(mx, V::loadn(x + full, rem, -INFINITY));
  const V m = V::set1(mx.reduce_max());
  V s = V::set1(0.f);
  for (int64_t c = 0; c < full; c += W) { V e = vexp(V::load(x + c) - m); e.store(out + c); s = s + e; }
  if (rem) { V e = vexp(V::loadn(x + full, rem, -INFINITY) - m); e.storen(out + full, rem); s = s + e; }
  const V inv = V::set1(1.f / s.reduce_add());
  for (int64_t c = 0; c < full; c += W) (V::load(out + c) * inv).store(out + c);
  if (rem) (V::loadn(out + full, rem, 0.f) * inv).storen(out + full, rem);
}

// dx += out * (dout - sum(dout * out))
template <class V>
inline void softmax_backward_row(float* dx, const float* dout, const float* out, int64_t cols) {
  constexpr int W = V::W;
  const int64_t full = cols - cols % W;
  const int rem = static_cast<int>(cols - full);
  V a = V::set1(0.f);
  for (int64_t c = 0; c < full; c += W) a = V::fmadd(V::load(dout + c), V::load(out + c), a);
  if (rem) a = V::fmadd(V::loadn(dout + full, rem, 0.f), V::loadn(out + full, rem, 0.f), a);
  const V dot = V::set1(a.reduce_add());
  for (int64_t c = 0; c < full; c += W)
    V::fmadd(V::load(out + c), V::load(dout + c) - dot, V::load(dx + c)).store(dx + c);
  if (rem)
    V::fmadd(V::loadn(out + full, rem, 0.f), V::loadn(dout + full, rem, 0.f) - dot, V::loadn(dx + full, rem, 0.f))
        .storen(dx + full, rem);
}

}  // namespace

GPTUNE_KERNEL(softmaxForward) {
  int64_t rows = args.dim(2, "rows"), cols = args.dim(3, "cols");
  int64_t n = checked_mul(args, rows, cols, "rows*cols");
  float* out = args.f32(0, "out", n);    // [rows, cols]
  const float* x = args.f32(1, "x", n);  // [rows, cols]
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r) softmax_forward_row<V>(out + r * cols, x + r * cols, cols);
    });
  });
}

GPTUNE_KERNEL(softmaxBackward) {
  int64_t rows = args.dim(3, "rows"), cols = args.dim(4, "cols");
  int64_t n = checked_mul(args, rows, cols, "rows*cols");
  float* dx = args.f32(0, "dx", n);            // [rows, cols]
  const float* dout = args.f32(1, "dout", n);
  const float* out = args.f32(2, "out", n);
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r) softmax_backward_row<V>(dx + r * cols, dout + r * cols, out + r * cols, cols);
    });
  });
}

}  // namespace gptune
