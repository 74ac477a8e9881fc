// Optimizer steps in place on one tensor: PyTorch 1.13's single-tensor AdamW and SGD, op by op as in
// src/backend/reference/optimizers.ts (scalars in double, tensor ops in float32). The compiler may fuse
// a multiply-add (as PyTorch's vectorised kernels do), so results match the reference to ~1 ulp.
#include <cmath>
#include <string>
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {

constexpr int64_t kGrain = 1 << 14;

GPTUNE_KERNEL(adamw) {
  int64_t n = args.dim(4, "n");
  float* param = args.f32(0, "param", n);  // [n], all four
  const float* grad = args.f32(1, "grad", n);
  float* m = args.f32(2, "m", n);
  float* v = args.f32(3, "v", n);
  const double lr = args.number(5, "lr"), beta1 = args.number(6, "beta1"), beta2 = args.number(7, "beta2");
  const double eps = args.number(8, "eps"), wd = args.number(9, "weightDecay");
  const int64_t step = args.integer(10, "step");
  if (step < 1) args.fail("step", "must be >= 1 (1-based), got " + std::to_string(step));
  const float decay = static_cast<float>(1.0 - lr * wd);
  const float b1 = static_cast<float>(beta1), omb1 = static_cast<float>(1.0 - beta1);
  const float b2 = static_cast<float>(beta2), omb2 = static_cast<float>(1.0 - beta2);
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const float neg_step_size = static_cast<float>(-(lr / bc1));
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float eps_f = static_cast<float>(eps);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      constexpr int W = V::W;
      const V vdecay = V::set1(decay), vb1 = V::set1(b1), vomb1 = V::set1(omb1), vb2 = V::set1(b2),
              vomb2 = V::set1(omb2), vstep = V::set1(neg_step_size), vbc2 = V::set1(bc2_sqrt), veps = V::set1(eps_f);
      for (int64_t i = s; i < e; i += W) {
        const int k = e - i < W ? static_cast<int>(e - i) : W;
        auto ld = [&](const float* p) { return k == W ? V::load(p + i) : V::loadn(p + i, k, 0.f); };
        auto st = [&](V x, float* p) { if (k == W) x.store(p + i); else x.storen(p + i, k); };
        V g = ld(grad);
        V p = ld(param) * vdecay;
        V mi = ld(m) * vb1 + g * vomb1;
        V vi = ld(v) * vb2 + (g * g) * vomb2;
        V denom = V::sqrt(vi) / vbc2 + veps;
        st(p + vstep * (mi / denom), param);
        st(mi, m);
        st(vi, v);
      }
    });
  });
}

GPTUNE_KERNEL(sgd) {
  int64_t n = args.dim(3, "n");
  float* param = args.f32(0, "param", n);  // [n], all three
  const float* grad = args.f32(1, "grad", n);
  const double lr = args.number(4, "lr"), momentum = args.number(5, "momentum"), dampening = args.number(6, "dampening");
  const bool nesterov = args.flag(7, "nesterov");
  const double weight_decay = args.number(8, "weightDecay");
  const bool first = args.flag(9, "firstStep");
  float* buf = momentum != 0.0 ? args.f32(2, "buf", n) : nullptr;  // unused (may be short) without momentum
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    throw ArgError("sgd: nesterov momentum requires a momentum > 0 and zero dampening (got momentum " +
                   std::to_string(momentum) + ", dampening " + std::to_string(dampening) + ")");
  const float wd = static_cast<float>(weight_decay), mom = static_cast<float>(momentum);
  const float omd = static_cast<float>(1.0 - dampening), neg_lr = static_cast<float>(-lr);
  const bool decay = weight_decay != 0.0, use_mom = momentum != 0.0;
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    dispatch_isa([&, wd, mom, omd, neg_lr, decay, use_mom](auto) {  // scalars by value: float stores cannot alias them
      float* p = param;
      float* bf = buf;
      const float* gr = grad;
      for (int64_t i = s; i < e; ++i) {
        float d = gr[i];
        if (decay) d = d + wd * p[i];
        if (use_mom) {
          const float b = first ? d : bf[i] * mom + omd * d;
          bf[i] = b;
          d = nesterov ? d + mom * b : b;
        }
        p[i] = p[i] + neg_lr * d;
      }
    });
  });
}

}  // namespace gptune
