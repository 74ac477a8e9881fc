// RMSNorm (Hugging Face's LlamaRMSNorm, float32): out = x * rstd * weight, rstd = 1/sqrt(mean(x^2) + eps).
// Same shape as layernorm.cc: rstd saved per row, per-thread partial sums for dweight.
#include <cmath>
#include <vector>
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {
namespace {

template <class V>
inline void rmsnorm_forward_row(float* out, float* rstd, const float* x, const float* w, int64_t cols, float eps) {
  constexpr int W = V::W;
  const int64_t full = cols - cols % W;
  const int rem = static_cast<int>(cols - full);
  V q = V::set1(0.f);
  for (int64_t c = 0; c < full; c += W) { V v = V::load(x + c); q = V::fmadd(v, v, q); }
  if (rem) { V v = V::loadn(x + full, rem, 0.f); q = V::fmadd(v, v, q); }
  const float r = 1.f / std::sqrt(q.reduce_add() / static_cast<float>(cols) + eps);
  const V vr = V::set1(r);
  for (int64_t c = 0; c < full; c += W) (V::load(x + c) * vr * V::load(w + c)).store(out + c);
  if (rem) (V::loadn(x + full, rem, 0.f) * vr * V::loadn(w + full, rem, 0.f)).storen(out + full, rem);
  *rstd = r;
}

// dx += rstd * (dout*w - norm * mean(dout*w*norm)); pw += dout * norm.
template <class V>
inline void rmsnorm_backward_row(float* dx, float* pw, const float* dout, const float* x, float rstd,
                                 const float* w, int64_t cols) {
  constexpr int W = V::W;
  const int64_t full = cols - cols % W;
  const int rem = static_cast<int>(cols - full);
  const V vr = V::set1(rstd);
  V a = V::set1(0.f);
  for (int64_t c = 0; c < full; c += W)
    a = V::fmadd(V::load(dout + c) * V::load(w + c), V::load(x + c) * vr, a);
  if (rem)
    a = V::fmadd(V::loadn(dout + full, rem, 0.f) * V::loadn(w + full, rem, 0.f), V::loadn(x + full, rem, 0.f) * vr, a);
  const V m = V::set1(a.reduce_add() / static_cast<float>(cols));
  auto step = [&](int64_t c, int n) {
    auto ld = [&](const float* p) { return n == W ? V::load(p + c) : V::loadn(p + c, n, 0.f); };
    auto st = [&](V v, float* p) { if (n == W) v.store(p + c); else v.storen(p + c, n); };
    V norm = ld(x) * vr;
    V d = ld(dout);
    st(V::fmadd(d, norm, ld(pw)), pw);
    st(V::fmadd(d * ld(w) - norm * m, vr, ld(dx)), dx);
  };
  for (int64_t c = 0; c < full; c += W) step(c, W);
  if (rem) step(full, rem);
}

}  // namespace

GPTUNE_KERNEL(rmsNormForward) {
  int64_t rows = args.dim(4, "rows"), cols = args.dim(5, "cols");
  float eps = static_cast<float>(args.number(6, "eps"));
  int64_t n = checked_mul(args, rows, cols, "rows*cols");
  float* out = args.f32(0, "out", n);       // [rows, cols]
  float* rstd = args.f32(1, "rstd", rows);  // [rows]
  const float* x = args.f32(2, "x", n);     // [rows, cols]
  const float* w = args.f32(3, "weight", cols);
  if (cols == 0 && rows > 0) args.fail("cols", "must be > 0 (the mean of an empty row)");
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r) rmsnorm_forward_row<V>(out + r * cols, rstd + r, x + r * cols, w, cols, eps);
    });
  });
}

GPTUNE_KERNEL(rmsNormBackward) {
  int64_t rows = args.dim(6, "rows"), cols = args.dim(7, "cols");
  int64_t n = checked_mul(args, rows, cols, "rows*cols");
  float* dx = args.f32(0, "dx", n);            // [rows, cols]
  float* dweight = args.f32(1, "dweight", cols);
  const float* dout = args.f32(2, "dout", n);  // [rows, cols]
  const float* x = args.f32(3, "x", n);
  const float* rstd = args.f32(4, "rstd", rows);
  const float* w = args.f32(5, "weight", cols);
  if (rows == 0 || cols == 0) return;
  const int nt = threads_for(rows, row_grain(cols));
  std::vector<float> partial(static_cast<size_t>(nt) * cols, 0.f);  // [nt, cols] dweight
  parallel_ranges(rows, nt, [&](int tid, int64_t r0, int64_t r1) {
    float* pw = partial.data() + static_cast<size_t>(tid) * cols;
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r)
        rmsnorm_backward_row<V>(dx + r * cols, pw, dout + r * cols, x + r * cols, rstd[r], w, cols);
    });
  });
  for (int t = 0; t < nt; ++t)
    for (int64_t c = 0; c < cols; ++c) dweight[c] += partial[static_cast<size_t>(t) * cols + c];
}

}  // namespace gptune
