// Widening f16 / bf16 checkpoint values to f32 across threads (loading a bf16 model is mostly this).
// Spec: src/backend/reference/convert.ts; both are exact (every f16 and bf16 value is an f32). The
// per-ISA widening is the GEMM's own (kernels/gemm/widen.cc: F16C where the CPU has it).
#include "registry.h"
#include "threads/pool.h"
#include "kernels/gemm/kit.h"

namespace gptune {

GPTUNE_KERNEL(halfToF32) {
  int64_t n = args.dim(2, "n");
  float* out = args.f32(0, "out", n);              // [n]
  const uint16_t* src = args.u16(1, "src", n);     // [n] bit patterns
  const gemm::Stored kind = args.flag(3, "bf16") ? gemm::STORED_BF16 : gemm::STORED_F16;
  parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) { gemm::widen(out + i0, src + i0, i1 - i0, kind); });
}

}  // namespace gptune
