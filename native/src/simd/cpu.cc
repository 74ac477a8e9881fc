#include "simd/cpu.h"
#include <atomic>

namespace gptune {

Isa cpu_isa_detected() {
#if GPTUNE_X86
  // libgcc's cpu model checks XGETBV too, so a CPU whose OS does not save zmm state reports no avx512f.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
  return ISA_SCALAR;
}

// No cap until setIsa: GPTUNE_ISA is parsed and checked on the TypeScript side (src/backend/env.ts).
static std::atomic<int> g_cap{ISA_AVX512};

void set_isa_cap(Isa cap) { g_cap.store(cap); }

Isa cpu_isa() {
  static const Isa detected = cpu_isa_detected();
  const int cap = g_cap.load(std::memory_order_relaxed);
  return detected < cap ? detected : static_cast<Isa>(cap);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace gptune
