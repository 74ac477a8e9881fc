// fmaPeak(seconds): the machine's measured fp32 FMA throughput in GFLOP/s on all pool threads, the
// ceiling the GEMM benchmark reports against. Not a Backend kernel: bench/kernels/gemm.bench.ts calls it.
// Each thread runs 16 independent FMA chains (more than latency x FMA ports) at the widest ISA in force.
#include <algorithm>
#include <chrono>
#include "registry.h"
#include "simd/cpu.h"
#include "threads/pool.h"
#if GPTUNE_X86
#include <immintrin.h>
#endif
// GCC 12 flags the placeholder operands inside its own AVX-512 intrinsics (false positives).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace gptune {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Each burst is 1000 steps of 16 FMAs on `lanes`-wide vectors; V is the vector type.
#define GPTUNE_FMA_BURST(V, FMA, SET1, ADD, REDUCE)                                              \
  V x0 = SET1(1.0f), x1 = SET1(1.1f), x2 = SET1(1.2f), x3 = SET1(1.3f), x4 = SET1(1.4f),          \
    x5 = SET1(1.5f), x6 = SET1(1.6f), x7 = SET1(1.7f), x8 = SET1(1.8f), x9 = SET1(1.9f),          \
    x10 = SET1(2.0f), x11 = SET1(2.1f), x12 = SET1(2.2f), x13 = SET1(2.3f), x14 = SET1(2.4f),     \
    x15 = SET1(2.5f);                                                                            \
  const V mul = SET1(0.999999f), add = SET1(1e-7f);                                              \
  int64_t bursts = 0;                                                                            \
  const Clock::time_point t0 = Clock::now();                                                     \
  double elapsed = 0;                                                                            \
  do {                                                                                           \
    for (int i = 0; i < 1000; ++i) {                                                             \
      x0 = FMA(x0, mul, add); x1 = FMA(x1, mul, add); x2 = FMA(x2, mul, add); x3 = FMA(x3, mul, add); \
      x4 = FMA(x4, mul, add); x5 = FMA(x5, mul, add); x6 = FMA(x6, mul, add); x7 = FMA(x7, mul, add); \
      x8 = FMA(x8, mul, add); x9 = FMA(x9, mul, add); x10 = FMA(x10, mul, add); x11 = FMA(x11, mul, add); \
      x12 = FMA(x12, mul, add); x13 = FMA(x13, mul, add); x14 = FMA(x14, mul, add); x15 = FMA(x15, mul, add); \
    }                                                                                            \
    ++bursts;                                                                                    \
  } while ((elapsed = since(t0)) < seconds);                                                     \
  V s = ADD(ADD(ADD(ADD(x0, x1), ADD(x2, x3)), ADD(ADD(x4, x5), ADD(x6, x7))),                   \
            ADD(ADD(ADD(x8, x9), ADD(x10, x11)), ADD(ADD(x12, x13), ADD(x14, x15))));            \
  *sink = REDUCE(s);                                                                             \
  return double(bursts) * 1000 * 16 * 2 * (sizeof(V) / sizeof(float)) / elapsed / 1e9;

#if GPTUNE_X86
GPTUNE_AVX512 double burn_avx512(double seconds, float* sink) {
  GPTUNE_FMA_BURST(__m512, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_reduce_add_ps)
}
GPTUNE_AVX2 float reduce256(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
GPTUNE_AVX2 double burn_avx2(double seconds, float* sink) {
  GPTUNE_FMA_BURST(__m256, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_add_ps, reduce256)
}
#endif
inline float fma1(float a, float b, float c) { return a * b + c; }
inline float add1(float a, float b) { return a + b; }
inline float set1(float a) { return a; }
inline float id1(float a) { return a; }
double burn_scalar(double seconds, float* sink) { GPTUNE_FMA_BURST(float, fma1, set1, add1, id1) }

}  // namespace

GPTUNE_KERNEL(fmaPeak) {
  const double seconds = args.number(0, "seconds");
  if (!(seconds > 0 && seconds <= 60)) args.fail("seconds", "must be in (0, 60]");
  const Isa isa = cpu_isa();
  double rates[256] = {0};
  float sinks[256];
  const int nt = std::min(num_threads(), 256);
  parallel_threads([&](int tid, int) {
#if GPTUNE_X86
    if (isa == ISA_AVX512) { rates[tid] = burn_avx512(seconds, &sinks[tid]); return; }
    if (isa == ISA_AVX2) { rates[tid] = burn_avx2(seconds, &sinks[tid]); return; }
#endif
    rates[tid] = burn_scalar(seconds, &sinks[tid]);
  }, nt);
  double total = 0;
  for (int i = 0; i < nt; ++i) total += rates[i];
  result = args.make_number(total);
}

}  // namespace gptune
