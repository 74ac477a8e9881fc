// Fused log-softmax + NLL over [rows, vocab] logits (the LM loss) without a [rows, vocab] temporary:
// the forward reads each row from memory once (blocks of it twice from L1: max, then sum of exp), the
// backward once, recomputing softmax from the saved lse. Four accumulators per reduction for ILP and accuracy.
#include <cmath>
#include <string>
#include "registry.h"
#include "kernels/rows.h"
#include "simd/vec.h"

namespace gptune {
namespace {

constexpr int32_t kIgnore = -100;

void check_targets(const char* kernel, const int32_t* targets, int64_t rows, int64_t vocab) {
  for (int64_t r = 0; r < rows; ++r) {
    int32_t t = targets[r];
    if (t != kIgnore && (t < 0 || t >= vocab))
      throw ArgError(std::string(kernel) + ": targets[" + std::to_string(r) + "] = " + std::to_string(t) +
                     " is outside [0, " + std::to_string(vocab) + ") and is not -100 (ignore)");
  }
}

// Max of one block (at most a few KB: it stays in L1 for the second read).
template <class V>
inline V block_max(const float* x, int64_t n) {
  constexpr int W = V::W;
  V m0 = V::set1(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    m0 = V::max(m0, V::load(x + i));
    m1 = V::max(m1, V::load(x + i + W));
    m2 = V::max(m2, V::load(x + i + 2 * W));
    m3 = V::max(m3, V::load(x + i + 3 * W));
  }
  for (; i + W <= n; i += W) m0 = V::max(m0, V::load(x + i));
  if (i < n) m1 = V::max(m1, V::loadn(x + i, static_cast<int>(n - i), -INFINITY));
  return V::max(V::max(m0, m1), V::max(m2, m3));
}

// Per-lane sum of exp(x - m) over one block.
template <class V>
inline V block_sum_exp(const float* x, int64_t n, V m) {
  constexpr int W = V::W;
  V s0 = V::set1(0.f), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = s0 + vexp(V::load(x + i) - m);
    s1 = s1 + vexp(V::load(x + i + W) - m);
    s2 = s2 + vexp(V::load(x + i + 2 * W) - m);
    s3 = s3 + vexp(V::load(x + i + 3 * W) - m);
  }
  for (; i + W <= n; i += W) s0 = s0 + vexp(V::load(x + i) - m);
  if (i < n) s1 = s1 + vexp(V::loadn(x + i, static_cast<int>(n - i), -INFINITY) - m);
  return (s0 + s1) + (s2 + s3);
}

// log(sum(exp(x))) of one row with a single read from memory: per block, the max and then the sum of
// exp re-read from L1, folded into per-lane running (max, sum) by rescaling the sum when the max grows.
template <class V>
inline float row_logsumexp(const float* x, int64_t n) {
  constexpr int64_t kBlock = 2048;  // 8 KB
  V run_max = V::set1(-INFINITY), run_sum = V::set1(0.f);
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t len = n - b < kBlock ? n - b : kBlock;
    const V new_max = V::max(run_max, block_max<V>(x + b, len));
    // exp(-inf - finite) = 0; a lane that is still -inf gives NaN - handled by vexp's clamp (max(NaN, -88) = -88)
    run_sum = run_sum * vexp(run_max - new_max) + block_sum_exp<V>(x + b, len, new_max);
    run_max = new_max;
  }
  const float m = run_max.reduce_max();
  const float s = (run_sum * vexp(run_max - V::set1(m))).reduce_add();
  return static_cast<float>(m + std::log(static_cast<double>(s)));
}

// dl += d * exp(x - lse) over the row (the onehot term is subtracted by the caller).
template <class V>
inline void row_backward(float* dl, const float* x, int64_t n, float d, float lse) {
  constexpr int W = V::W;
  const V vd = V::set1(d), vl = V::set1(lse);
  int64_t i = 0;
  for (; i + W <= n; i += W) V::fmadd(vd, vexp(V::load(x + i) - vl), V::load(dl + i)).store(dl + i);
  if (i < n) {
    const int m = static_cast<int>(n - i);
    V::fmadd(vd, vexp(V::loadn(x + i, m, -INFINITY) - vl), V::loadn(dl + i, m, 0.f)).storen(dl + i, m);
  }
}

}  // namespace

GPTUNE_KERNEL(crossEntropyForward) {
  int64_t rows = args.dim(4, "rows"), vocab = args.dim(5, "vocab");
  float* losses = args.f32(0, "losses", rows);                                        // [rows]
  float* lse = args.f32(1, "lse", rows);                                              // [rows]
  const float* logits = args.f32(2, "logits", checked_mul(args, rows, vocab, "logits"));  // [rows, vocab]
  const int32_t* targets = args.i32(3, "targets", rows);                              // [rows]
  check_targets("crossEntropyForward", targets, rows, vocab);
  parallel_for(rows, row_grain(vocab), [&](int64_t r0, int64_t r1) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r) {
        const float* x = logits + r * vocab;
        const float l = row_logsumexp<V>(x, vocab);
        lse[r] = l;
        losses[r] = targets[r] == kIgnore ? 0.f : l - x[targets[r]];
      }
    });
  });
}

GPTUNE_KERNEL(crossEntropyBackward) {
  int64_t rows = args.dim(5, "rows"), vocab = args.dim(6, "vocab");
  int64_t n = checked_mul(args, rows, vocab, "rows*vocab");
  float* dlogits = args.f32(0, "dlogits", n);             // [rows, vocab]
  const float* dlosses = args.f32(1, "dlosses", rows);    // [rows]
  const float* logits = args.f32(2, "logits", n);         // [rows, vocab]
  const float* lse = args.f32(3, "lse", rows);            // [rows]
  const int32_t* targets = args.i32(4, "targets", rows);  // [rows]
  check_targets("crossEntropyBackward", targets, rows, vocab);
  parallel_for(rows, row_grain(vocab), [&](int64_t r0, int64_t r1) {
    dispatch_isa([&](auto tag) {
      using V = GPTUNE_VEC(tag);
      for (int64_t r = r0; r < r1; ++r) {
        const int32_t t = targets[r];
        if (t == kIgnore) continue;
        row_backward<V>(dlogits + r * vocab, logits + r * vocab, vocab, dlosses[r], lse[r]);
        dlogits[r * vocab + t] -= dlosses[r];
      }
    });
  });
}

}  // namespace gptune
