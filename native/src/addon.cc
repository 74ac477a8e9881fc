// The addon's entry point: exports every registered kernel plus the runtime controls.
#include "registry.h"
#include "simd/cpu.h"
#include "threads/pool.h"

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

static napi_value Init(napi_env env, napi_value exports) { return export_kernels(env, exports); }

}  // namespace gptune

NAPI_MODULE(NODE_GYP_MODULE_NAME, gptune::Init)
