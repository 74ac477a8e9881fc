// LayerNorm: native (every ISA) vs reference on odd shapes, accumulation into pre-filled gradients,
// the reference backward vs float64 finite differences, and argument errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerNormBackward, layerNormForward } from '../../src/backend/reference/layernorm.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();
const SHAPES: [number, number][] = [[1, 1], [1, 7], [7, 129], [129, 17], [3, 768], [200, 1000], [33, 50]];
const EPS = 1e-5;

test('native layerNorm forward/backward vs reference, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const [rows, cols] of SHAPES) {
    const r = rng(rows * 7 + cols);
    const n = rows * cols;
    const x = r.f32(n, 2).map((v) => v + 3); // an offset mean: the variance must not cancel
    const w = r.f32(cols).map((v) => 1 + 0.2 * v), b = r.f32(cols, 0.2), dout = r.f32(n);
    const dx0 = r.f32(n), dw0 = r.f32(cols), db0 = r.f32(cols); // pre-filled: backward adds
    const out = new Float32Array(n), mean = new Float32Array(rows), rstd = new Float32Array(rows);
    layerNormForward(out, mean, rstd, x, w, b, rows, cols, EPS);
    const dx = dx0.slice(), dw = dw0.slice(), db = db0.slice();
    layerNormBackward(dx, dw, db, dout, x, mean, rstd, w, rows, cols);
    for (const v of variants) {
      v.activate();
      const o = new Float32Array(n), m = new Float32Array(rows), s = new Float32Array(rows);
      v.backend.layerNormForward(o, m, s, x, w, b, rows, cols, EPS);
      const tag = `${v.name} ${rows}x${cols}`;
      expectClose(`out ${tag}`, o, out, { atol: 2e-6, rtol: 1e-5 });
      expectClose(`mean ${tag}`, m, mean, { atol: 1e-6, rtol: 1e-6 });
      expectClose(`rstd ${tag}`, s, rstd, { atol: 1e-6, rtol: 1e-5 });
      const gx = dx0.slice(), gw = dw0.slice(), gb = db0.slice();
      v.backend.layerNormBackward(gx, gw, gb, dout, x, mean, rstd, w, rows, cols);
      expectClose(`dx ${tag}`, gx, dx, { atol: 1e-5, rtol: 1e-5 });
      // dweight sums rows in float32 per thread; its error grows with rows (and depends on the split)
      const sumTol = { atol: 2e-6 * rows, rtol: 1e-5 };
      expectClose(`dweight ${tag}`, gw, dw, sumTol);
      expectClose(`dbias ${tag}`, gb, db, sumTol);
    }
  }
});

test('reference layerNorm backward matches float64 finite differences', () => {
  const rows = 3, cols = 5, n = rows * cols, r = rng(42);
  const x = f64(r.f32(n)), w = f64(r.f32(cols)), b = f64(r.f32(cols)), dout = f64(r.f32(n));
  const mean = new Float64Array(rows), rstd = new Float64Array(rows), out = new Float64Array(n);
  layerNormForward(asF32(out), asF32(mean), asF32(rstd), asF32(x), asF32(w), asF32(b), rows, cols, EPS);
  const dx = new Float64Array(n).fill(1), dw = new Float64Array(cols).fill(1), db = new Float64Array(cols).fill(1);
  layerNormBackward(asF32(dx), asF32(dw), asF32(db), asF32(dout), asF32(x), asF32(mean), asF32(rstd), asF32(w), rows, cols);
  for (const g of [dx, dw, db]) for (let i = 0; i < g.length; i++) g[i] -= 1; // they accumulated onto 1
  gradcheck('layerNorm', [x, w, b], [0, 1, 2], ([xs, ws, bs]) => {
    const y = new Float64Array(n);
    layerNormForward(asF32(y), asF32(new Float64Array(rows)), asF32(new Float64Array(rows)), asF32(xs), asF32(ws), asF32(bs), rows, cols, EPS);
    return y;
  }, dout, [dx, dw, db]);
});

test('layerNorm: short buffers are errors naming the argument', () => {
  for (const v of variants) {
    v.activate();
    const f = (k: number) => new Float32Array(k);
    assert.throws(() => v.backend.layerNormForward(f(12), f(3), f(2), f(12), f(4), f(4), 3, 4, EPS), /layerNormForward: argument 'rstd' has 2 elements, needs at least 3/);
    assert.throws(() => v.backend.layerNormForward(f(12), f(3), f(3), f(12), f(4), f(3), 3, 4, EPS), /argument 'bias'/);
    assert.throws(() => v.backend.layerNormBackward(f(12), f(4), f(4), f(11), f(12), f(3), f(3), f(4), 3, 4), /layerNormBackward: argument 'dout'/);
  }
});
