// Loads the C++ addon (build/Release/gptune.node) and describes it as one TypeScript type.
// Every kernel takes the same arguments, in the same order, as the Backend method of its name.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { packagePath } from '../../util/package_root.js';
import type { Backend, F32 } from '../backend.js';

export type NativeKernels = Omit<Backend, 'name' | 'threads' | 'gemm' | 'gemmBf16' | 'packBf16' | 'bf16Hardware' | 'quantizeNf4'>;
export interface NativeAddon extends NativeKernels {
  /** Backend.quantizeNf4, with code8 the signed dynamic map (formats/nf4.ts DYNAMIC_MAP). */
  quantizeNf4(blocks: Uint8Array, absmaxCodes: Uint8Array, absmax2: F32, x: F32, n: number, code8: F32): number;
  gemm(c: F32, a: F32, b: F32, m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean): void;
  /** gemmBf16 with B as f32 (bKind 0), 16-bit patterns: bf16 (1) or IEEE f16 (2), or packBf16's panels (3). */
  gemmBf16(c: F32, a: F32, b: F32 | Uint16Array | Uint32Array, m: number, n: number, k: number, transA: boolean, transB: boolean,
    accumulate: boolean, bKind: 0 | 1 | 2 | 3): void;
  /** op(B) as AVX-512 BF16 panels for gemmBf16's bKind 3, in `reuse` when given; null without AVX-512 BF16. b and bKind as gemmBf16's. */
  packBf16(b: F32 | Uint16Array, n: number, k: number, transB: boolean, reuse: Uint32Array | null, bKind: 0 | 1 | 2): Uint32Array | null;
  /** 1 when gemmBf16 runs on AVX-512 BF16 instructions. */
  bf16Hardware(): number;
  /** gemm with B as 16-bit patterns: bf16, or IEEE f16 when f16 is set. */
  gemmHalf(c: F32, a: F32, b: Uint16Array, m: number, n: number, k: number, transA: boolean, transB: boolean,
    accumulate: boolean, f16: boolean): void;
  /** gemm with B as ggml blocks along its stored rows: Q8_0, or Q4_0 when q4 is set. */
  gemmQuant(c: F32, a: F32, b: Uint8Array, m: number, n: number, k: number, transA: boolean, transB: boolean,
    accumulate: boolean, q4: boolean): void;
  /** gemm with B in NF4 with double quantization over stored B flattened (formats/nf4.ts; b its nibbles); code8 is DYNAMIC_MAP. */
  gemmNf4(c: F32, a: F32, b: Uint8Array, m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean,
    absmaxCodes: Uint8Array, absmax2: F32, code8: F32, offset: number): void;
  /** The instruction set the kernels dispatch to: 'avx512' | 'avx2' | 'scalar'. */
  isa(): string;
  threads(): number;
  setThreads(n: number): void;
  /** Caps the ISA (0 scalar, 1 avx2, 2 avx512) and returns the one in force. */
  setIsa(level: number): string;
  /** The whole file as an ArrayBuffer over a private memory mapping (unmapped when collected). */
  mapFile(path: string): ArrayBuffer;
  /** Faults in [offset, offset + length) of a mapFile buffer without copying a page. */
  populateMapped(buffer: ArrayBuffer, offset: number, length: number): void;
  /** Measured fp32 FMA throughput in GFLOP/s on all threads over about `seconds` (the GEMM bench's ceiling). */
  fmaPeak(seconds: number): number;
}

export type AddonLoad = { addon: NativeAddon; error: null } | { addon: null; error: string };

let cached: AddonLoad | null = null;

export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const path = packagePath('build', 'Release', 'gptune.node');
  if (!existsSync(path)) {
    cached = { addon: null, error: `the native addon was not built (${path} is missing; run \`npm rebuild gptune\` and read the compiler output)` };
    return cached;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    cached = { addon, error: null };
  } catch (e) {
    cached = { addon: null, error: `the native addon at ${path} failed to load: ${(e as Error).message}` };
  }
  return cached;
}
