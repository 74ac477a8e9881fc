// Native kernels are tested against the reference ones (imported directly from src/backend/reference/<op>.js)
// at each ISA this CPU has (scalar, avx2, avx512), so one machine exercises every dispatch path.
import type { Backend } from '../../src/backend/backend.js';
import { nativeBackend } from '../../src/backend/native/index.js';
import { loadAddon } from '../../src/backend/native/binding.js';

export interface NativeVariant { name: string; backend: Backend; activate(): void }

/** Native variants (empty when the addon is absent: the tests then say so, they do not pass silently). */
export function nativeVariants(): NativeVariant[] {
  const { addon } = loadAddon();
  if (!addon) return [];
  const out: NativeVariant[] = [];
  const best = addon.setIsa(2);
  for (const [level, isa] of [[0, 'scalar'], [1, 'avx2'], [2, 'avx512']] as const) {
    if (level > ['scalar', 'avx2', 'avx512'].indexOf(best)) continue;
    out.push({ name: `native-${isa}`, backend: nativeBackend(addon), activate: () => { addon.setIsa(level); } });
  }
  return out;
}

/** Fails loudly when the addon should be there (CI builds it) but is not. */
export function requireNative(): void {
  const { error } = loadAddon();
  if (error && process.env.GPTUNE_ALLOW_NO_NATIVE !== '1') {
    throw new Error(`native kernels cannot be tested: ${error} (set GPTUNE_ALLOW_NO_NATIVE=1 to test reference only)`);
  }
}
