// LayerNorm over the last dim (PyTorch semantics), forward and backward, one row per step.
// Forward saves mean and rstd; backward is two row reductions then one pass (llm.c's form), with
// per-thread partial sums for dweight and dbias merged at the end.
#include <cmath>
#include <vector>
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {
namespace {

template <class V>
inline void layernorm_forward_row(float* out, float* mean, float* rstd, const float* x, const float* w,
                                  const float* b, int64_t cols, float eps) {
  constexpr int W = V::W;
  const int64_t full = cols - cols % W;
  const int rem = static_cast<int>(cols - full);
  V s = V::set1(0.f);
  for (int64_t c = 0; c < full; c += W) s = s + V::load(x + c);
  if (rem) s = s + V::loadn(x + full, rem, 0.f);
  const float m = s.reduce_add() / static_cast<float>(cols);
  // two-pass variance: the mean is subtracted first, so no cancellation
  const V vm = V::set1(m);
  V q = V::set1(0.f);
  for (int64_t c = 0; c < full; c += W) { V d = V::load(x + c) - vm; q = V::fmadd(d, d, q); }
  if (rem) { V d = V::loadn(x + full, rem, m) - vm; q = V::fmadd(d, d, q); }
  const float r = 1.f / std::sqrt(q.reduce_add() / static_cast<float>(cols) + eps);
  const V vr = V::set1(r);
  for (int64_t c = 0; c < full; c += W)
    V::fmadd((V::load(x + c) - vm) * vr, V::load(w + c), V::load(b + c)).store(out + c);
  if (rem)
    V::fmadd((V::loadn(x + full, rem, 0.f) - vm) * vr, V::loadn(w + full, rem, 0.f), V::loadn(b + full, rem, 0.f))
        .storen(out + full, rem);
  *mean = m;
  *rstd = r;
}

// dx += (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) * rstd; pw += norm * dout; pb += dout.
template <class V>
inline void layernorm_backward_row(float* dx, float* pw, float* pb, const float* dout, const float* x,
                                   float mean, float rstd, const float* w, int64_t cols) {
  constexpr int W = V::W;
  const int64_t full = cols - cols % W;
  const int rem = static_cast<int>(cols - full);
  const V vm = V::set1(mean), vr = V::set1(rstd);
  V a1 = V::set1(0.f), a2 = V::set1(0.f);
  for (int64_t c = 0; c < full; c += W) {
    V norm = (V::load(x + c) - vm) * vr;
    V dnorm = V::load(dout + c) * V::load(w + c);
    a1 = a1 + dnorm;
    a2 = V::fmadd(dnorm, norm, a2);
  }
  if (rem) {  // dout's fill of 0 zeroes the tail's contribution
    V norm = (V::loadn(x + full, rem, mean) - vm) * vr;
    V dnorm = V::loadn(dout + full, rem, 0.f) * V::loadn(w + full, rem, 0.f);
    a1 = a1 + dnorm;
    a2 = V::fmadd(dnorm, norm, a2);
  }
  const V m1 = V::set1(a1.reduce_add() / static_cast<float>(cols));
  const V m2 = V::set1(a2.reduce_add() / static_cast<float>(cols));
  auto step = [&](int64_t c, int n) {
    auto ld = [&](const float* p) { return n == W ? V::load(p + c) : V::loadn(p + c, n, 0.f); };
    auto st = [&](V v, float* p) { if (n == W) v.store(p + c); else v.storen(p + c, n); };
    V norm = (ld(x) - vm) * vr;
    V d = ld(dout);
    V dnorm = d * ld(w);
    st(ld(pb) + d, pb);
    st(V::fmadd(norm, d, ld(pw)), pw);
    st(V::fmadd(dnorm - m1 - norm * m2, vr, ld(dx)), dx);
  };
  for (int64_t c = 0; c < full; c += W) step(c, W);
  if (rem) step(full, rem);
}

}  // namespace

GPTUNE_KERNEL(layerNormForward) {
  int64_t rows = args.dim(6, "rows"), cols = args.dim(7, "cols");
  float eps = static_cast<float>(args.number(8, "eps"));
  int64_t n = checked_mul(args, rows, cols, "rows*cols");
  float* out = args.f32(0, "out", n);          // [rows, cols]
  float* mean = args.f32(1, "mean", rows);     // [rows]
  float* rstd = args.f32(2, "rstd", rows);     // [rows]
  const float* x = args.f32(3, "x", n);        // [rows, cols]
  const float* w = args.f32(4, "weight", cols);
  const float* b = args.f32(5, "bias", cols);
  if (cols == 0 && rows > 0) args.fail("cols", "must be > 0 (the mean of an empty row)");
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r)
        layernorm_forward_row<V>(out + r * cols, mean + r, rstd + r, x + r * cols, w, b, cols, eps);
    });
  });
}

GPTUNE_KERNEL(layerNormBackward) {
  int64_t rows = args.dim(8, "rows"), cols = args.dim(9, "cols");
  int64_t n = checked_mul(args, rows, cols, "rows*cols");
  float* dx = args.f32(0, "dx", n);            // [rows, cols]
  float* dweight = args.f32(1, "dweight", cols);
  float* dbias = args.f32(2, "dbias", cols);
  const float* dout = args.f32(3, "dout", n);  // [rows, cols]
  const float* x = args.f32(4, "x", n);
  const float* mean = args.f32(5, "mean", rows);
  const float* rstd = args.f32(6, "rstd", rows);
  const float* w = args.f32(7, "weight", cols);
  if (rows == 0 || cols == 0) return;
  const int nt = threads_for(rows, row_grain(cols));
  std::vector<float> partial(static_cast<size_t>(nt) * 2 * cols, 0.f);  // [nt, 2, cols]: dweight, dbias
  parallel_ranges(rows, nt, [&](int tid, int64_t r0, int64_t r1) {
    float* pw = partial.data() + static_cast<size_t>(tid) * 2 * cols;
    float* pb = pw + cols;
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r)
        layernorm_backward_row<V>(dx + r * cols, pw, pb, dout + r * cols, x + r * cols, mean[r], rstd[r], w, cols);
    });
  });
  for (int t = 0; t < nt; ++t) {
    const float* pw = partial.data() + static_cast<size_t>(t) * 2 * cols;
    for (int64_t c = 0; c < cols; ++c) { dweight[c] += pw[c]; dbias[c] += pw[cols + c]; }
  }
}

}  // namespace gptune
