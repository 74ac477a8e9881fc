// The check every stored-B GEMM test shares (bf16/f16 bits, ggml Q8_0/Q4_0 blocks, NF4): gemm with B as
// stored equals gemm with B widened to f32, bit for bit, on the reference backend and on every native ISA.
import assert from 'node:assert/strict';
import { gemm as refGemm } from '../../src/backend/reference/gemm.js';
import type { StoredWeight } from '../../src/backend/backend.js';
import { expectClose, rng } from './close.js';
import { nativeVariants } from './backends.js';

/** Asserts got and want hold the same f32 bit patterns (so -0 vs 0 and NaN payloads count). */
export function sameBits(name: string, got: Float32Array, want: Float32Array): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const i = g.findIndex((v, j) => v !== w[j]);
  assert.equal(i, -1, `${name}: element ${i} is ${got[i]}, the f32 path gives ${want[i]}`);
}

export interface StoredGemmCheck {
  label: string;                                 // names the format in failure messages, e.g. 'NF4'
  seed: number;
  shapes: Array<[number, number, number]>;       // [m, n, k]
  /** Layouts to try: [false] for weights without a stored-transposed flag, [false, true] for those with one. */
  stored: boolean[];
  /** Whether a stored row of this length is whole blocks (default: any length). */
  fits?: (rowLen: number) => boolean;
  /** B from n*k f32 values: the stored weight and its exact f32 widening, laid out as stored. */
  make(values: Float32Array, stored: boolean): { w: StoredWeight; wide: Float32Array };
}

/** Runs the check over shapes x transB x stored x transA x accumulate; returns the number of cases run. */
export function checkStoredGemm(c: StoredGemmCheck): number {
  const r = rng(c.seed);
  const backends = [{ name: 'reference', gemm: refGemm, activate: () => {} }, ...nativeVariants().map((v) => ({ name: v.name, gemm: v.backend.gemm, activate: v.activate }))];
  let cases = 0;
  for (const [m, n, k] of c.shapes) {
    for (const transB of [false, true]) for (const stored of c.stored) for (const transA of [false, true]) for (const acc of [false, true]) {
      // B as stored is [N,K] when transB xor stored-transposed: its rows then run along K, else along N.
      const tb = transB !== stored;
      if (c.fits && !c.fits(tb ? k : n)) continue;
      if (m * n * k > 1e6 && (transA || acc)) continue; // keep the reference's triple loop quick
      const a = r.f32(m * k), c0 = r.f32(m * n);
      const { w, wide } = c.make(r.f32(n * k, 0.5), stored);
      let first: Float32Array | null = null;
      for (const b of backends) {
        b.activate();
        const want = Float32Array.from(c0), got = Float32Array.from(c0);
        b.gemm(want, a, wide, m, n, k, transA, tb, acc);
        b.gemm(got, a, w, m, n, k, transA, transB, acc);
        const layout = c.stored.length > 1 ? ` stored-transposed ${stored}` : '';
        const name = `${b.name} ${c.label} m${m} n${n} k${k} tA${transA} tB${transB}${layout} acc${acc}`;
        sameBits(name, got, want);
        // Native against the spec: the usual f32 GEMM tolerance (the reference sums in double).
        if (first) expectClose(name + ' vs reference', got, first, { atol: 1e-3 * Math.sqrt(k), rtol: 1e-4 });
        else first = got;
      }
      cases++;
    }
  }
  nativeVariants().at(-1)?.activate();
  return cases;
}
