// Rotary embedding: native (every ISA) vs reference, in place, inverse = backward (gradcheck), errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rope } from '../../src/backend/reference/rope.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();
const MAX_POS = 64;

/** Hugging Face's tables: theta[p, i] = p * base^(-2i/D), as [maxPos, D/2]. */
function tables(headDim: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(MAX_POS * half), sin = new Float32Array(MAX_POS * half);
  for (let p = 0; p < MAX_POS; p++) {
    for (let i = 0; i < half; i++) {
      const th = p * Math.pow(10000, -(2 * i) / headDim);
      cos[p * half + i] = Math.cos(th);
      sin[p * half + i] = Math.sin(th);
    }
  }
  return { cos, sin };
}

test('native rope vs reference, every ISA, forward, inverse and in place', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const tokens of [1, 7, 33]) {
    for (const heads of [1, 3]) {
      for (const headDim of [2, 16, 34, 64, 130]) {
        const r = rng(tokens * 100 + heads * 10 + headDim);
        const n = tokens * heads * headDim;
        const x = r.f32(n);
        const pos = r.ints(tokens, MAX_POS);
        const { cos, sin } = tables(headDim);
        for (const inverse of [false, true]) {
          const want = new Float32Array(n);
          rope(want, x, cos, sin, pos, tokens, heads, headDim, inverse);
          for (const v of variants) {
            v.activate();
            const tag = `${v.name} T=${tokens} H=${heads} D=${headDim} inverse=${inverse}`;
            const out = new Float32Array(n);
            v.backend.rope(out, x, cos, sin, pos, tokens, heads, headDim, inverse);
            expectClose(tag, out, want, { atol: 1e-6, rtol: 1e-6 });
            const inPlace = x.slice();
            v.backend.rope(inPlace, inPlace, cos, sin, pos, tokens, heads, headDim, inverse);
            expectClose(`${tag} in place`, inPlace, want, { atol: 1e-6, rtol: 1e-6 });
          }
        }
      }
    }
  }
});

test('rope pairs element i with i + D/2 (rotate_half), by hand', () => {
  // D = 4, one token at position 1 where the table holds cos = [0, 1], sin = [1, 0] (90 degrees, 0 degrees)
  const cos = new Float32Array([1, 1, 0, 1]), sin = new Float32Array([0, 0, 1, 0]);
  const x = new Float32Array([1, 2, 3, 4]);
  const out = new Float32Array(4);
  rope(out, x, cos, sin, new Int32Array([1]), 1, 1, 4, false);
  // pair (x0, x2) = (1, 3) rotated by 90 degrees: (1*0 - 3*1, 3*0 + 1*1); pair (x1, x3) unchanged
  assert.deepEqual(Array.from(out), [-3, 2, 1, 4]);
  for (const v of variants) {
    v.activate();
    const o = new Float32Array(4);
    v.backend.rope(o, x, cos, sin, new Int32Array([1]), 1, 1, 4, false);
    assert.deepEqual(Array.from(o), [-3, 2, 1, 4], v.name);
  }
});

test('rope inverse is the backward (float64 finite differences) and undoes the forward', () => {
  const tokens = 3, heads = 2, headDim = 6, n = tokens * heads * headDim;
  const { cos, sin } = tables(headDim);
  const c = f64(cos), s = f64(sin), pos = new Int32Array([5, 0, 63]);
  const x = f64(rng(9).f32(n)), dout = f64(rng(10).f32(n));
  const dx = new Float64Array(n);
  rope(asF32(dx), asF32(dout), asF32(c), asF32(s), pos, tokens, heads, headDim, true);
  gradcheck('rope', [x], [0], ([xs]) => { const y = new Float64Array(n); rope(asF32(y), asF32(xs), asF32(c), asF32(s), pos, tokens, heads, headDim, false); return y; }, dout, [dx]);
  const back = new Float64Array(n);
  rope(asF32(back), asF32(dx), asF32(c), asF32(s), pos, tokens, heads, headDim, false);
  // the float32 tables make cos^2 + sin^2 = 1 only to float32 precision
  expectClose('rope(rope(dout, inverse))', back, dout, { atol: 1e-7, rtol: 1e-6 });
});

test('rope: positions outside the tables, odd headDim and short buffers are errors', () => {
  const { cos, sin } = tables(8);
  const x = new Float32Array(3 * 8), out = new Float32Array(3 * 8);
  const bad = new Int32Array([0, 1, MAX_POS]);
  assert.throws(() => rope(out, x, cos, sin, bad, 3, 1, 8, false), /positions\[2\] = 64 is outside the 64 rows of cos\/sin/);
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.rope(out, x, cos, sin, bad, 3, 1, 8, false), /rope: positions\[2\] = 64 is outside the 64 rows of cos\/sin/);
    assert.throws(() => v.backend.rope(out, x, cos, sin, new Int32Array([0, -1, 0]), 3, 1, 8, false), /positions\[1\] = -1/);
    assert.throws(() => v.backend.rope(out, x, cos, sin, new Int32Array(3), 3, 1, 7, false), /headDim' must be even/);
    assert.throws(() => v.backend.rope(out, x.subarray(1), cos, sin, new Int32Array(3), 3, 1, 8, false), /rope: argument 'x' has 23 elements/);
    assert.throws(() => v.backend.rope(out, x, cos, sin, new Int32Array(2), 3, 1, 8, false), /argument 'positions'/);
  }
});
