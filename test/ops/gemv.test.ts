// gemm with one row (decode): the unpacked path, threaded over N, against the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm } from '../../src/backend/reference/gemm.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

test('native gemm with M = 1: every ISA, both B layouts, accumulate or not, shapes that use both threads', () => {
  requireNative();
  const r = rng(5);
  for (const v of nativeVariants()) {
    v.activate();
    for (const [n, k] of [[1, 1], [17, 3], [3000, 777], [50257 >> 4, 768], [129, 4100]]) {
      for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
        const a = r.f32(k), b = r.f32(n * k), c0 = r.f32(n);
        const want = Float32Array.from(c0), got = Float32Array.from(c0);
        refGemm(want, a, b, 1, n, k, transA, transB, acc);
        v.backend.gemm(got, a, b, 1, n, k, transA, transB, acc);
        expectClose(`${v.name} gemv n${n} k${k} tA${transA} tB${transB} acc${acc}`, got, want, { atol: 1e-4 * Math.sqrt(k), rtol: 1e-4 });
      }
    }
  }
});

// f32 fma(a, b, c) with one rounding: a*b is exact in a double; s = a*b + c rounded to double lands on
// the f32 rounding of the exact sum unless s is exactly halfway between two floats, where the sign of
// TwoSum's error (exact remainder) decides, and a zero error leaves fround's ties-to-even.
function fmaf(a: number, b: number, c: number): number {
  const p = a * b, s = p + c;
  const r = Math.fround(s), d = s - r;
  if (d === 0 || !Number.isFinite(s)) return r;
  const m = r + 2 * d;  // the other float neighbour when s is a midpoint
  if (Math.fround(m) !== m) return r;
  const bv = s - p, av = s - bv, e = (p - av) + (c - bv);
  return e === 0 ? r : (e > 0) === (d > 0) ? m : r;
}

// The GEMV's arithmetic as gemv.cc's dot_rows<L> / axpy_rows state it: L partial sums (element p into
// lane p mod L, the tail into lanes 0..), folded pairwise; axpy one chain per column, rows in order.
// fused: FMAs (AVX2 / AVX-512); plain x86-64 rounds the product and the sum apart.
function gemvModel(y: Float32Array, X: Float32Array, x: Float32Array, rows: number, cols: number, acc: boolean, dot: boolean, L: number, fused: boolean): void {
  const madd = fused ? fmaf : (a: number, b: number, c: number) => Math.fround(c + Math.fround(a * b));
  if (dot) {
    for (let r = 0; r < rows; r++) {
      const s = new Float64Array(L);
      let p = 0;
      for (; p + L <= cols; p += L) for (let l = 0; l < L; l++) s[l] = madd(X[r * cols + p + l], x[p + l], s[l]);
      for (let l = 0; p < cols; p++, l++) s[l] = madd(X[r * cols + p], x[p], s[l]);
      for (let w = L / 2; w >= 1; w /= 2) for (let l = 0; l < w; l++) s[l] = Math.fround(s[l] + s[l + w]);
      y[r] = Math.fround((acc ? y[r] : 0) + s[0]);
    }
  } else {
    for (let j = 0; j < cols; j++) {
      let s = acc ? y[j] : 0;
      for (let r = 0; r < rows; r++) s = madd(x[r], X[r * cols + j], s);
      y[j] = s;
    }
  }
}

test('native gemm with M = 1 sums exactly as the GEMV model states (lanes, FMAs, pairwise fold), on every ISA', () => {
  requireNative();
  if (process.arch !== 'x64') return; // the lane counts and fusing below are x86's
  const r = rng(15);
  const lanes: Record<string, { L: number; axpyL: number; fused: boolean }> = {
    'native-scalar': { L: 8, axpyL: 4, fused: false }, 'native-avx2': { L: 16, axpyL: 8, fused: true }, 'native-avx512': { L: 32, axpyL: 16, fused: true },
  };
  for (const v of nativeVariants()) {
    v.activate();
    const { L, fused } = lanes[v.name];
    for (const [n, k] of [[1, 1], [37, 5], [1011, 59], [7, 1000], [499, 45], [260, 96]]) {
      for (const transB of [false, true]) for (const acc of [false, true]) {
        const a = r.f32(k), b = r.f32(n * k), c0 = r.f32(n);
        const want = Float32Array.from(c0), got = Float32Array.from(c0);
        // transB: B [n, k], y = B @ a (dot rows); else B [k, n], y = a @ B (axpy over rows).
        gemvModel(want, b, a, transB ? n : k, transB ? k : n, acc, transB, L, fused);
        v.backend.gemm(got, a, b, 1, n, k, false, transB, acc);
        const g = new Uint32Array(got.buffer), w = new Uint32Array(want.buffer);
        const i = g.findIndex((u, j) => u !== w[j]);
        assert.equal(i, -1, `${v.name} n${n} k${k} transB ${transB} acc ${acc}: y[${i}] is ${got[i]}, the model gives ${want[i]}`);
      }
    }
  }
  nativeVariants().at(-1)?.activate();
});
