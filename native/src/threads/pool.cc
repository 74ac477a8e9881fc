#include "threads/pool.h"
#include <sched.h>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#define GPTUNE_PAUSE() _mm_pause()
#else
#define GPTUNE_PAUSE() ((void)0)
#endif

namespace gptune {
namespace {

// GPTUNE_THREADS is parsed on the TypeScript side (src/backend/env.ts), which calls setThreads.
int default_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

thread_local bool t_in_pool = false;

class Pool {
 public:
  explicit Pool(int n) : n_(n) { start(n - 1); }
  ~Pool() { stop(); }

  int size() const { return n_; }

  void resize(int n) {
    if (n == n_) return;
    stop();
    n_ = n;
    start(n - 1);
  }

  void run(ThreadFn fn, void* ctx, int nthreads) {
    if (nthreads > n_) nthreads = n_;
    if (nthreads <= 1 || t_in_pool) {
      // Serial: the nested case keeps the outer split, the 1-thread case avoids any signalling.
      fn(ctx, 0, 1);
      return;
    }
    std::lock_guard<std::mutex> serialize(run_mu_);  // one job at a time (worker_threads may share us)
    // Every worker takes part in every job (those past nthreads do nothing), so none can lag
    // behind into the next job.
    fn_ = fn;
    ctx_ = ctx;
    active_ = nthreads;
    pending_.store(n_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    t_in_pool = true;
    fn(ctx, 0, nthreads);
    t_in_pool = false;
    // Wait for the workers; they finish at about the same time as we do, so spin.
    while (pending_.load(std::memory_order_acquire) != 0) GPTUNE_PAUSE();
  }

 private:
  void start(int workers) {
    quit_ = false;
    // The generation is read here, not in the new thread: a job posted before a worker first runs
    // would otherwise look already seen, and run() would wait for that worker forever.
    const uint64_t seen = generation_.load(std::memory_order_acquire);
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i, seen] { loop(i + 1, seen); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  void loop(int tid, uint64_t seen) {
    t_in_pool = true;
    for (;;) {
      // Spin a little (jobs come back to back during a training step), then sleep.
      uint64_t g = seen;
      for (int spin = 0; spin < 20000; ++spin) {
        g = generation_.load(std::memory_order_acquire);
        if (g != seen) break;
        GPTUNE_PAUSE();
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      if (quit_) return;
      if (tid < active_) fn_(ctx_, tid, active_);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  int n_;
  std::vector<std::thread> threads_;
  std::mutex mu_, run_mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  ThreadFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int active_ = 0;
  bool quit_ = false;
};

Pool& pool() {
  static Pool* p = new Pool(default_threads());  // never destroyed: workers may outlive static teardown
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n < 1 ? 1 : n); }
void parallel_run(ThreadFn fn, void* ctx, int nthreads) { pool().run(fn, ctx, nthreads); }

}  // namespace gptune
