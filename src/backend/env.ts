// The backend's environment variables, read and checked in one place: the native addon reads none
// itself (select.ts hands it the parsed values), so a bad value is refused by name, never ignored.
import type { BackendName } from './backend.js';

export type IsaName = 'scalar' | 'avx2' | 'avx512';
/** The addon's setIsa levels. */
export const ISA_LEVELS: Record<IsaName, number> = { scalar: 0, avx2: 1, avx512: 2 };
/** The addon's thread pool accepts 1..MAX_THREADS. */
export const MAX_THREADS = 256;

export interface BackendEnv {
  /** GPTUNE_BACKEND: forces a backend; unset picks native when the addon loads. */
  backend?: BackendName;
  /** GPTUNE_THREADS: the native thread count; unset uses the CPUs this process may run on. */
  threads?: number;
  /** GPTUNE_ISA: caps the native instruction set; unset uses the widest the CPU has. */
  isa?: IsaName;
}

/** Parses GPTUNE_BACKEND, GPTUNE_THREADS and GPTUNE_ISA; an invalid value throws naming the variable. */
export function readBackendEnv(env: NodeJS.ProcessEnv = process.env): BackendEnv {
  const out: BackendEnv = {};
  const backend = env.GPTUNE_BACKEND;
  if (backend !== undefined) {
    if (backend !== 'reference' && backend !== 'native') throw new Error(`gptune: GPTUNE_BACKEND must be 'reference' or 'native', got '${backend}'`);
    out.backend = backend;
  }
  const threads = env.GPTUNE_THREADS;
  if (threads !== undefined) {
    const n = /^\s*\d+\s*$/.test(threads) ? Number(threads) : NaN;
    if (!(n >= 1 && n <= MAX_THREADS)) throw new Error(`gptune: GPTUNE_THREADS must be an integer from 1 to ${MAX_THREADS}, got '${threads}'`);
    out.threads = n;
  }
  const isa = env.GPTUNE_ISA;
  if (isa !== undefined) {
    if (!(isa in ISA_LEVELS)) throw new Error(`gptune: GPTUNE_ISA must be one of ${Object.keys(ISA_LEVELS).join(', ')}, got '${isa}'`);
    out.isa = isa as IsaName;
  }
  return out;
}
