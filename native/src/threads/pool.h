// A persistent thread pool: the calling thread plus num_threads()-1 workers that spin briefly,
// then sleep, between jobs. Kernels call parallel_for; a nested call runs serially on its thread.
#pragma once
#include <cstdint>

namespace gptune {

int num_threads();
void set_num_threads(int n);  // default: GPTUNE_THREADS, else the CPUs this process may run on

// Runs fn(ctx, tid, nthreads) once on each of nthreads threads (tid 0 is the caller) and waits.
using ThreadFn = void (*)(void* ctx, int tid, int nthreads);
void parallel_run(ThreadFn fn, void* ctx, int nthreads);

// Calls f(tid, nthreads) on every pool thread.
template <typename F>
void parallel_threads(F&& f, int nthreads = 0) {
  if (nthreads <= 0) nthreads = num_threads();
  parallel_run([](void* c, int tid, int nt) { (*static_cast<F*>(c))(tid, nt); }, &f, nthreads);
}

// Splits [0, n) into contiguous chunks, one per thread, and calls f(begin, end) on each.
// grain: the least work per thread worth a thread (fewer threads are used for small n).
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  int nt = num_threads();
  if (grain < 1) grain = 1;
  int64_t useful = (n + grain - 1) / grain;
  if (useful < nt) nt = static_cast<int>(useful);
  if (nt <= 1) { f(int64_t(0), n); return; }
  parallel_threads([&](int tid, int nthr) {
    int64_t begin = n * tid / nthr, end = n * (tid + 1) / nthr;
    if (begin < end) f(begin, end);
  }, nt);
}

}  // namespace gptune
