// gemmBf16 (mixed precision, as autocast): both operands rounded to bf16, products summed in f32.
// Native (AVX-512 BF16 where the CPU has it, rounding + f32 GEMM elsewhere) against the reference spec
// at every ISA, with f32 and 16-bit B, edges of the 12 x 32 tile, odd k, several depth and column blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm, gemmBf16 as refGemmBf16, packBf16 as refPackBf16 } from '../../src/backend/reference/gemm.js';
import type { F32, HalfWeight } from '../../src/backend/backend.js';
import { f32ToBF16, f32ToF16 } from '../../src/formats/dtype.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

const SHAPES: Array<[number, number, number]> = [[1, 40, 33], [2, 2, 1], [13, 33, 7], [12, 32, 512], [25, 70, 1031], [64, 300, 96], [40, 520, 130], [5, 2, 600]];

type Gemm = (c: F32, a: F32, b: F32 | HalfWeight, m: number, n: number, k: number, tA: boolean, tB: boolean, acc: boolean) => void;

function variants(): Array<{ name: string; gemm: Gemm; activate(): void }> {
  return nativeVariants().map((v) => ({ name: v.name, gemm: v.backend.gemmBf16, activate: v.activate }));
}

test('gemmBf16 equals the reference (bf16-rounded operands, f32 sums) on every native ISA, f32 and 16-bit B', () => {
  requireNative();
  const r = rng(21);
  for (const [m, n, k] of SHAPES) {
    for (const bKind of ['F32', 'BF16', 'F16'] as const) {
      for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
        if (bKind !== 'F32' && (transA || acc)) continue; // the 16-bit B path shares everything else
        const a = r.f32(m * k), c0 = r.f32(m * n), bf = r.f32(n * k, 0.5);
        const b: F32 | HalfWeight = bKind === 'F32' ? bf : { dtype: bKind, bits: bKind === 'BF16' ? f32ToBF16(bf) : f32ToF16(bf) };
        const want = Float32Array.from(c0);
        refGemmBf16(want, a, b, m, n, k, transA, transB, acc);
        for (const v of variants()) {
          v.activate();
          const got = Float32Array.from(c0);
          v.gemm(got, a, b, m, n, k, transA, transB, acc);
          expectClose(`${v.name} ${bKind} m${m} n${n} k${k} tA${transA} tB${transB} acc${acc}`, got, want, { atol: 2e-5 * Math.sqrt(k), rtol: 1e-5 });
        }
      }
    }
  }
  nativeVariants().at(-1)?.activate();
});

test('gemmBf16 rounds each operand to the nearest bf16, ties to even, and is exact on bf16 integers', () => {
  requireNative();
  // A = 1 + 2^-8 sits halfway between bf16's 1 and 1 + 2^-7: ties to even gives 1. 1 + 3 * 2^-8 rounds up
  // to 1 + 2^-6. With B the identity, C is A rounded.
  const m = 24, n = 40, k = 24;
  const a = new Float32Array(m * k), b = new Float32Array(k * n);
  for (let i = 0; i < m; i++) a[i * k + i] = i % 2 ? 1 + 2 ** -8 : 1 + 3 * 2 ** -8;
  for (let i = 0; i < k; i++) b[i * n + i] = 1;
  // Small integers are bf16 values and their sums are exact in f32: every path gives the same C.
  const ai = Float32Array.from({ length: m * k }, (_, i) => (i * 7) % 11 - 5);
  const bi = Float32Array.from({ length: k * n }, (_, i) => (i * 5) % 9 - 4);
  const exact = new Float32Array(m * n);
  refGemm(exact, ai, bi, m, n, k, false, false, false);
  for (const v of [{ name: 'reference', gemm: refGemmBf16 as Gemm, activate: () => {} }, ...variants()]) {
    v.activate();
    const c = new Float32Array(m * n);
    v.gemm(c, a, b, m, n, k, false, false, false);
    for (let i = 0; i < m; i++) assert.equal(c[i * n + i], i % 2 ? 1 : 1 + 2 ** -6, `${v.name}: row ${i}`);
    const ci = new Float32Array(m * n);
    v.gemm(ci, ai, bi, m, n, k, false, false, false);
    assert.deepEqual(ci, exact, v.name);
  }
  nativeVariants().at(-1)?.activate();
});

test('gemmBf16 differs from the f32 GEMM by bf16 rounding, no more', () => {
  const r = rng(5);
  const m = 8, n = 16, k = 256;
  const a = r.f32(m * k), b = r.f32(k * n);
  const f32 = new Float32Array(m * n), bf = new Float32Array(m * n);
  refGemm(f32, a, b, m, n, k, false, false, false);
  refGemmBf16(bf, a, b, m, n, k, false, false, false);
  const worst = Math.max(...f32.map((x, i) => Math.abs(x - bf[i])));
  // Each operand moves by at most 2^-9 relative: a sum of k products of |x| <= 1 moves by < k * 2^-8.
  assert.ok(worst > 0 && worst < k * 2 ** -8, `largest difference ${worst}`);
});

test('native gemmBf16 names a bad argument', () => {
  requireNative();
  const v = nativeVariants().at(-1);
  if (!v) return;
  assert.throws(() => v.backend.gemmBf16(new Float32Array(4), new Float32Array(4), new Float32Array(3), 2, 2, 2, false, false, false), /'b'/);
  assert.throws(() => v.backend.gemmBf16(new Float32Array(3), new Float32Array(4), new Float32Array(4), 2, 2, 2, false, false, false), /'c'/);
});

test('packBf16 then gemmBf16 equals gemmBf16 on the operand itself: reference and every native ISA, f32 and 16-bit B, m of 1', () => {
  requireNative();
  const r = rng(33);
  const shapes: Array<[number, number, number]> = [[1, 70, 33], [3, 40, 7], [13, 33, 600], [25, 300, 1031], [40, 640, 130]];
  for (const [m, n, k] of shapes) {
    for (const bKind of ['F32', 'BF16', 'F16'] as const) {
      for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
        const a = r.f32(m * k), c0 = r.f32(m * n), bf = r.f32(n * k, 0.5);
        const b: F32 | HalfWeight = bKind === 'F32' ? bf : { dtype: bKind, bits: bKind === 'BF16' ? f32ToBF16(bf) : f32ToF16(bf) };
        const want = Float32Array.from(c0);
        refGemmBf16(want, a, b, m, n, k, transA, transB, acc);
        const refPacked = Float32Array.from(c0);
        refGemmBf16(refPacked, a, refPackBf16(b, n, k, transB), m, n, k, transA, transB, acc);
        assert.deepEqual(refPacked, want, `reference m${m} n${n} k${k}`);
        for (const v of nativeVariants()) {
          v.activate();
          const got = Float32Array.from(c0);
          v.backend.gemmBf16(got, a, v.backend.packBf16(b, n, k, transB), m, n, k, transA, transB, acc);
          expectClose(`${v.name} packed ${bKind} m${m} n${n} k${k} tA${transA} tB${transB} acc${acc}`, got, want, { atol: 2e-5 * Math.sqrt(k), rtol: 1e-5 });
          if (m > 1) { // the same kernel as an unpacked call: the same bits
            const plain = Float32Array.from(c0);
            v.backend.gemmBf16(plain, a, b, m, n, k, transA, transB, acc);
            assert.deepEqual(got, plain, `${v.name} packed vs unpacked m${m} n${n} k${k}`);
          }
        }
      }
    }
  }
  nativeVariants().at(-1)?.activate();
});

test('packBf16 into an earlier packing: the new weight\'s results exactly, in the same memory; a packing fits one product only', () => {
  requireNative();
  const r = rng(8);
  const m = 20, n = 300, k = 96;
  const a = r.f32(m * k), w1 = r.f32(n * k), w2 = r.f32(n * k);
  for (const v of [{ name: 'reference', backend: { gemmBf16: refGemmBf16, packBf16: refPackBf16 }, activate: () => {} }, ...nativeVariants()]) {
    v.activate();
    const be = v.backend;
    const fresh = (w: F32) => { const c = new Float32Array(m * n); be.gemmBf16(c, a, be.packBf16(w, n, k, true), m, n, k, false, true, false); return c; };
    const p1 = be.packBf16(w1, n, k, true);
    const c1 = new Float32Array(m * n);
    be.gemmBf16(c1, a, p1, m, n, k, false, true, false);
    // The weight changes (an optimizer step): packed again into p1's memory, the results are w2's.
    const p2 = be.packBf16(w2, n, k, true, p1);
    if (p1.data instanceof Uint32Array) assert.equal(p2.data, p1.data, `${v.name}: the buffer is reused`);
    const c2 = new Float32Array(m * n);
    be.gemmBf16(c2, a, p2, m, n, k, false, true, false);
    assert.deepEqual(c2, fresh(w2), `${v.name}: after the update`);
    assert.notDeepEqual(c2, c1, v.name);
    // And back: w1 packed into the same buffer gives w1's results again.
    const c3 = new Float32Array(m * n);
    be.gemmBf16(c3, a, be.packBf16(w1, n, k, true, p2), m, n, k, false, true, false);
    assert.deepEqual(c3, c1, `${v.name}: w1 again`);
    assert.throws(() => be.gemmBf16(c1, a, p2, m, n, k, false, false, false), /packed as op\(B\)/, `${v.name}: transB differs`);
    assert.throws(() => be.gemmBf16(c1, a, p2, m, n - 1, k, false, true, false), /packed as op\(B\)/, `${v.name}: n differs`);
  }
  nativeVariants().at(-1)?.activate();
});
