// The addon's entry point: exports every registered kernel plus the runtime controls.
#include "registry.h"
#include "simd/cpu.h"
#include "threads/pool.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdlib>

namespace gptune {

GPTUNE_KERNEL(isa) { result = args.make_string(isa_name(cpu_isa())); }
GPTUNE_KERNEL(threads) { result = args.make_number(num_threads()); }
GPTUNE_KERNEL(setThreads) {
  int64_t n = args.integer(0, "n");
  if (n < 1 || n > 256) args.fail("n", "must be in 1..256");
  set_num_threads(static_cast<int>(n));
}
// Caps the instruction set (tests run every dispatch path on one machine); returns the ISA in force.
GPTUNE_KERNEL(setIsa) {
  int64_t level = args.integer(0, "level");
  if (level < 0 || level > 2) args.fail("level", "must be 0 (scalar), 1 (avx2) or 2 (avx512)");
  set_isa_cap(static_cast<Isa>(level));
  result = args.make_string(isa_name(cpu_isa()));
}

// glibc raises its mmap threshold to the size of each mmapped block freed (up to 32 MB), so after the
// first freed activation buffers, buffers of a new batch shape come from the heap, which fragments
// and is never given back: RSS climbed with each new shape. A fixed threshold keeps buffers of
// 128 KiB and up in their own mappings, returned to the OS when V8 frees them (the pool reuses them,
// so the mmap calls are few). GPTUNE_MALLOC_DEFAULTS=1 leaves glibc's dynamic threshold in place.
static void fix_mmap_threshold() {
#if defined(__GLIBC__)
  const char* keep = std::getenv("GPTUNE_MALLOC_DEFAULTS");
  if (keep && keep[0] == '1') return;
  if (std::getenv("MALLOC_MMAP_THRESHOLD_")) return;  // the user's own setting wins
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

static napi_value Init(napi_env env, napi_value exports) {
  fix_mmap_threshold();
  return export_kernels(env, exports);
}

}  // namespace gptune

NAPI_MODULE(NODE_GYP_MODULE_NAME, gptune::Init)
