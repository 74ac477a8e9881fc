// Runtime CPU dispatch: one build runs on any x86-64; kernels pick their path from cpu_isa().
// Kernel variants are compiled with __attribute__((target(...))) (see GPTUNE_AVX512 / GPTUNE_AVX2)
// so no translation unit needs -mavx512f and the scalar path never executes a wide instruction.
#pragma once

namespace gptune {

enum Isa { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

// Best ISA this CPU and OS support, capped by GPTUNE_ISA (scalar|avx2|avx512) or set_isa_cap().
Isa cpu_isa();
Isa cpu_isa_detected();
void set_isa_cap(Isa cap);
const char* isa_name(Isa isa);

}  // namespace gptune

#if defined(__x86_64__) || defined(_M_X64)
#define GPTUNE_X86 1
#define GPTUNE_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2")))
#define GPTUNE_AVX2 __attribute__((target("avx2,fma,bmi2")))
#else
#define GPTUNE_X86 0
#define GPTUNE_AVX512
#define GPTUNE_AVX2
#endif
