// Elementwise kernels (add, mul, scale, axpy, addMul) and reductions: memory-bound loops that
// the compiler vectorises once per ISA (target_clones); threads split the range.
#include "registry.h"
#include "threads/pool.h"

namespace gptune {
namespace {

constexpr int64_t kGrain = 1 << 15;  // below ~32K elements a thread hand-off costs more than it saves

#define GPTUNE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

GPTUNE_CLONES void add_range(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
GPTUNE_CLONES void mul_range(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}
GPTUNE_CLONES void scale_range(float* out, const float* a, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = s * a[i];
}
GPTUNE_CLONES void axpy_range(float* y, float alpha, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
GPTUNE_CLONES void add_mul_range(float* y, float alpha, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * a[i] * b[i];
}
// Reductions accumulate in double so the result does not depend on the thread split, in 16
// independent partial sums so the loop vectorises (one running sum is bound by the add latency:
// 5 GB/s here, a fifth of the memory bandwidth).
GPTUNE_CLONES double sum_range(const float* x, int64_t n) {
  double acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[i + l];
  double s = 0;
  for (int l = 0; l < 16; ++l) s += acc[l];
  for (; i < n; ++i) s += x[i];
  return s;
}
GPTUNE_CLONES double sum_squares_range(const float* x, int64_t n) {
  double acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += static_cast<double>(x[i + l]) * x[i + l];
  double s = 0;
  for (int l = 0; l < 16; ++l) s += acc[l];
  for (; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

template <typename F>
double reduce(int64_t n, F range) {
  double parts[256] = {0};
  int nt = num_threads();
  parallel_threads([&](int tid, int nthr) {
    int64_t b = n * tid / nthr, e = n * (tid + 1) / nthr;
    parts[tid] = range(b, e);
  }, n < kGrain ? 1 : nt);
  double s = 0;
  for (int i = 0; i < nt; ++i) s += parts[i];
  return s;
}

}  // namespace

GPTUNE_KERNEL(add) {
  int64_t n = args.dim(3, "n");
  float* out = args.f32(0, "out", n);
  const float* a = args.f32(1, "a", n);
  const float* b = args.f32(2, "b", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) { add_range(out + s, a + s, b + s, e - s); });
}
GPTUNE_KERNEL(mul) {
  int64_t n = args.dim(3, "n");
  float* out = args.f32(0, "out", n);
  const float* a = args.f32(1, "a", n);
  const float* b = args.f32(2, "b", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) { mul_range(out + s, a + s, b + s, e - s); });
}
GPTUNE_KERNEL(scale) {
  int64_t n = args.dim(3, "n");
  float* out = args.f32(0, "out", n);
  const float* a = args.f32(1, "a", n);
  float sc = static_cast<float>(args.number(2, "s"));
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) { scale_range(out + s, a + s, sc, e - s); });
}
GPTUNE_KERNEL(axpy) {
  int64_t n = args.dim(3, "n");
  float* y = args.f32(0, "y", n);
  float alpha = static_cast<float>(args.number(1, "alpha"));
  const float* x = args.f32(2, "x", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) { axpy_range(y + s, alpha, x + s, e - s); });
}
GPTUNE_KERNEL(addMul) {
  int64_t n = args.dim(4, "n");
  float* y = args.f32(0, "y", n);
  float alpha = static_cast<float>(args.number(1, "alpha"));
  const float* a = args.f32(2, "a", n);
  const float* b = args.f32(3, "b", n);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) { add_mul_range(y + s, alpha, a + s, b + s, e - s); });
}
GPTUNE_KERNEL(sum) {
  int64_t n = args.dim(1, "n");
  const float* x = args.f32(0, "x", n);
  result = args.make_number(reduce(n, [&](int64_t s, int64_t e) { return sum_range(x + s, e - s); }));
}
GPTUNE_KERNEL(sumSquares) {
  int64_t n = args.dim(1, "n");
  const float* x = args.f32(0, "x", n);
  result = args.make_number(reduce(n, [&](int64_t s, int64_t e) { return sum_squares_range(x + s, e - s); }));
}

}  // namespace gptune
