// Activation kernels (GPT-2's tanh-form GELU, SiLU), forward and backward, on the vectorised exp:
// gelu(x) = x * sigmoid(2u) with u = sqrt(2/pi) (x + 0.044715 x^3), since 0.5 (1 + tanh(u)) = sigmoid(2u).
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"
#include <cmath>

namespace gptune {
namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;

// Applies f(V x, V dout_or_unused) -> V to whole vectors and then the masked tail.
template <class V, class F>
inline void map_range(float* out, const float* x, int64_t n, F f) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) f(V::load(x + i), i).store(out + i);
  if (i < n) f(V::loadn(x + i, static_cast<int>(n - i), 0.f), i).storen(out + i, static_cast<int>(n - i));
}

template <class V>
inline V gelu_sig(V x) {  // sigmoid(2u) = 0.5 (1 + tanh(u))
  V u = V::set1(kGeluK) * V::fmadd(V::set1(kGeluC) * x * x, x, x);
  return vsigmoid(u + u);
}

}  // namespace

GPTUNE_KERNEL(geluForward) {
  int64_t n = args.dim(2, "n");
  float* out = args.f32(0, "out", n);
  const float* x = args.f32(1, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      map_range<V>(out + s, x + s, e - s, [](V xv, int64_t) { return xv * gelu_sig(xv); });
    });
  });
}

// d/dx [x s] with s = sigmoid(2u): s + x * 2 s (1 - s) * u', where 1 - s = s e^(-2u) avoids cancellation.
GPTUNE_KERNEL(geluBackward) {
  int64_t n = args.dim(3, "n");
  float* dx = args.f32(0, "dx", n);
  const float* dout = args.f32(1, "dout", n);
  const float* x = args.f32(2, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      float* dxs = dx + s;
      const float* dos = dout + s;
      const int64_t len = e - s;
      map_range<V>(dxs, x + s, len, [&](V xv, int64_t i) {
        int rem = static_cast<int>(len - i);
        V u = V::set1(kGeluK) * V::fmadd(V::set1(kGeluC) * xv * xv, xv, xv);
        V en = vexp(V::set1(0.f) - (u + u));
        V sg = V::set1(1.f) / (V::set1(1.f) + en);
        V one_minus = sg * en;
        V dudx = V::set1(kGeluK) * V::fmadd(V::set1(3.f * kGeluC) * xv, xv, V::set1(1.f));
        V grad = V::fmadd(xv * V::set1(2.f) * sg * one_minus, dudx, sg);
        V d = rem >= V::W ? V::load(dos + i) : V::loadn(dos + i, rem, 0.f);
        V acc = rem >= V::W ? V::load(dxs + i) : V::loadn(dxs + i, rem, 0.f);
        return V::fmadd(d, grad, acc);
      });
    });
  });
}

GPTUNE_KERNEL(siluForward) {
  int64_t n = args.dim(2, "n");
  float* out = args.f32(0, "out", n);
  const float* x = args.f32(1, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      map_range<V>(out + s, x + s, e - s, [](V xv, int64_t) { return xv * vsigmoid(xv); });
    });
  });
}

// d/dx [x s] with s = sigmoid(x): s (1 + x (1 - s)), 1 - s = s e^-x.
GPTUNE_KERNEL(siluBackward) {
  int64_t n = args.dim(3, "n");
  float* dx = args.f32(0, "dx", n);
  const float* dout = args.f32(1, "dout", n);
  const float* x = args.f32(2, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      float* dxs = dx + s;
      const float* dos = dout + s;
      const int64_t len = e - s;
      map_range<V>(dxs, x + s, len, [&](V xv, int64_t i) {
        int rem = static_cast<int>(len - i);
        V en = vexp(V::set1(0.f) - xv);
        V sg = V::set1(1.f) / (V::set1(1.f) + en);
        V grad = sg * V::fmadd(xv, sg * en, V::set1(1.f));
        V d = rem >= V::W ? V::load(dos + i) : V::loadn(dos + i, rem, 0.f);
        V acc = rem >= V::W ? V::load(dxs + i) : V::loadn(dxs + i, rem, 0.f);
        return V::fmadd(d, grad, acc);
      });
    });
  });
}

}  // namespace gptune

// BERT's exact gelu, x Phi(x) with Phi(x) = 0.5 (1 + erf(x / sqrt 2)), in vectors. Phi comes from
// erfc(|z|) by Numerical Recipes' erfcc (fractional error < 1.2e-7 for every z >= 0): Phi = erfc/2
// below 0 and 1 - erfc/2 above, so neither tail loses digits to cancellation (1 - erf would).
namespace gptune {
namespace {
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// Phi(x), and e^(-x^2/2) for the backward's density.
template <class V>
inline V gelu_phi(V x, V& gauss) {
  V z = x * V::set1(kInvSqrt2);
  V az = V::max(z, V::set1(0.f) - z);
  V t = V::set1(1.f) / V::fmadd(V::set1(0.5f), az, V::set1(1.f));
  V p = V::set1(0.17087277f);
  p = V::fmadd(p, t, V::set1(-0.82215223f));
  p = V::fmadd(p, t, V::set1(1.48851587f));
  p = V::fmadd(p, t, V::set1(-1.13520398f));
  p = V::fmadd(p, t, V::set1(0.27886807f));
  p = V::fmadd(p, t, V::set1(-0.18628806f));
  p = V::fmadd(p, t, V::set1(0.09678418f));
  p = V::fmadd(p, t, V::set1(0.37409196f));
  p = V::fmadd(p, t, V::set1(1.00002368f));
  p = V::fmadd(p, t, V::set1(-1.26551223f));
  gauss = vexp(V::set1(0.f) - az * az);     // e^(-z^2) = e^(-x^2/2); 0 beyond |z| ~ 9.4
  V half_erfc = V::set1(0.5f) * t * gauss * vexp(p);
  return V::select_neg(z, half_erfc, V::set1(1.f) - half_erfc);
}
}  // namespace

GPTUNE_KERNEL(geluErfForward) {
  int64_t n = args.dim(2, "n");
  float* out = args.f32(0, "out", n);
  const float* x = args.f32(1, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      map_range<V>(out + s, x + s, e - s, [](V xv, int64_t) { V g; return xv * gelu_phi(xv, g); });
    });
  });
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi).
GPTUNE_KERNEL(geluErfBackward) {
  int64_t n = args.dim(3, "n");
  float* dx = args.f32(0, "dx", n);
  const float* dout = args.f32(1, "dout", n);
  const float* x = args.f32(2, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      float* dxs = dx + s;
      const float* dos = dout + s;
      const int64_t len = e - s;
      map_range<V>(dxs, x + s, len, [&](V xv, int64_t i) {
        int rem = static_cast<int>(len - i);
        V g;
        V phi = gelu_phi(xv, g);
        V grad = V::fmadd(xv * V::set1(kInvSqrt2Pi), g, phi);
        V d = rem >= V::W ? V::load(dos + i) : V::loadn(dos + i, rem, 0.f);
        V acc = rem >= V::W ? V::load(dxs + i) : V::loadn(dxs + i, rem, 0.f);
        return V::fmadd(d, grad, acc);
      });
    });
  });
}

GPTUNE_KERNEL(tanhForward) {
  int64_t n = args.dim(2, "n");
  float* out = args.f32(0, "out", n);
  const float* x = args.f32(1, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) out[i] = std::tanh(x[i]);
  });
}

// dx += dout (1 - y^2), y the forward's output.
GPTUNE_KERNEL(tanhBackward) {
  int64_t n = args.dim(3, "n");
  float* dx = args.f32(0, "dx", n);
  const float* dout = args.f32(1, "dout", n);
  const float* y = args.f32(2, "y", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) dx[i] += dout[i] * (1.f - y[i] * y[i]);
  });
}

}  // namespace gptune
