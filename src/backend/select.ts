// Picks the backend once per process: GPTUNE_BACKEND=reference|native, else native when the addon
// loads. A fallback to reference is announced once on stderr, with the reason. The environment is
// read by env.ts (all of it: the addon reads none).
import type { Backend, BackendName } from './backend.js';
import { referenceBackend } from './reference/index.js';
import { nativeBackend } from './native/index.js';
import { loadAddon, type NativeAddon } from './native/binding.js';
import { ISA_LEVELS, readBackendEnv } from './env.js';

const KERNELS = Object.keys(referenceBackend).filter((k) => k !== 'name' && k !== 'threads');

let current: Backend | null = null;

/** The native addon with every kernel present, or the reason it cannot be used. */
export function nativeAddon(): { addon: NativeAddon | null; error: string | null } {
  const load = loadAddon();
  if (!load.addon) return load;
  const missing = KERNELS.filter((k) => typeof (load.addon as unknown as Record<string, unknown>)[k] !== 'function');
  if (missing.length) return { addon: null, error: `the native addon lacks kernels: ${missing.join(', ')} (rebuild it with \`npm rebuild gptune\`)` };
  return load;
}

export function createBackend(name: BackendName): Backend {
  if (name === 'reference') return referenceBackend;
  const { addon, error } = nativeAddon();
  if (!addon) throw new Error(`gptune: GPTUNE_BACKEND=native, but ${error}`);
  const env = readBackendEnv();
  if (env.threads !== undefined) addon.setThreads(env.threads);
  if (env.isa !== undefined) addon.setIsa(ISA_LEVELS[env.isa]);
  return nativeBackend(addon);
}

export function backend(): Backend {
  if (current) return current;
  const want = readBackendEnv().backend;
  if (want) {
    current = createBackend(want);
  } else {
    const { addon, error } = nativeAddon();
    if (addon) {
      current = createBackend('native');
    } else {
      process.stderr.write(`gptune: running on the reference backend (slow): ${error}\n`);
      current = referenceBackend;
    }
  }
  return current;
}

/** Switches the process's backend (tests and benchmarks compare the two). */
export function setBackend(b: Backend): void {
  current = b;
}
