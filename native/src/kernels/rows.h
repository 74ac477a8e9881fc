// Helpers shared by the row-wise kernels: overflow-checked sizes and a row split that tells each
// thread its index (backward kernels keep per-thread partial sums of their weight gradients).
#pragma once
#include <cstdint>
#include <string>
#include "napi_args.h"
#include "threads/pool.h"

namespace gptune {

// a * b for two dims, as an Error rather than a wrapped size when it cannot be a buffer length.
inline int64_t checked_mul(Args& args, int64_t a, int64_t b, const char* what) {
  if (a != 0 && b > (int64_t(1) << 52) / a) args.fail(what, "is too large (" + std::to_string(a) + " x " + std::to_string(b) + ")");
  return a * b;
}

// Threads worth using for n units of work with at least `grain` units each.
inline int threads_for(int64_t n, int64_t grain) {
  int nt = num_threads();
  if (grain < 1) grain = 1;
  int64_t useful = (n + grain - 1) / grain;
  if (useful < nt) nt = static_cast<int>(useful < 1 ? 1 : useful);
  return nt;
}

// Splits [0, n) over exactly nt threads and calls f(tid, begin, end) on each (possibly empty) range.
template <typename F>
void parallel_ranges(int64_t n, int nt, F&& f) {
  if (nt <= 1) { f(0, int64_t(0), n); return; }
  parallel_threads([&](int tid, int nthr) { f(tid, n * tid / nthr, n * (tid + 1) / nthr); }, nt);
}

// Rows per thread hand-off: about 16K floats of work.
inline int64_t row_grain(int64_t cols) { return cols >= (1 << 14) ? 1 : (1 << 14) / (cols > 0 ? cols : 1); }

}  // namespace gptune
