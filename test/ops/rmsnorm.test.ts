// RMSNorm (LlamaRMSNorm): native (every ISA) vs reference, accumulation, float64 gradcheck, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmsNormBackward, rmsNormForward } from '../../src/backend/reference/rmsnorm.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();
const SHAPES: [number, number][] = [[1, 1], [1, 7], [7, 129], [129, 17], [3, 768], [200, 1000], [33, 50]];
const EPS = 1e-6;

test('native rmsNorm forward/backward vs reference, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const [rows, cols] of SHAPES) {
    const r = rng(rows * 11 + cols);
    const n = rows * cols;
    const x = r.f32(n, 2), w = r.f32(cols).map((v) => 1 + 0.2 * v), dout = r.f32(n);
    const dx0 = r.f32(n), dw0 = r.f32(cols);
    const out = new Float32Array(n), rstd = new Float32Array(rows);
    rmsNormForward(out, rstd, x, w, rows, cols, EPS);
    const dx = dx0.slice(), dw = dw0.slice();
    rmsNormBackward(dx, dw, dout, x, rstd, w, rows, cols);
    for (const v of variants) {
      v.activate();
      const o = new Float32Array(n), s = new Float32Array(rows);
      v.backend.rmsNormForward(o, s, x, w, rows, cols, EPS);
      const tag = `${v.name} ${rows}x${cols}`;
      expectClose(`out ${tag}`, o, out, { atol: 1e-6, rtol: 1e-5 });
      expectClose(`rstd ${tag}`, s, rstd, { atol: 1e-6, rtol: 1e-5 });
      const gx = dx0.slice(), gw = dw0.slice();
      v.backend.rmsNormBackward(gx, gw, dout, x, rstd, w, rows, cols);
      expectClose(`dx ${tag}`, gx, dx, { atol: 1e-5, rtol: 1e-5 });
      // dweight sums rows in float32 per thread; its error grows with rows (and depends on the split)
      const sumTol = { atol: 2e-6 * rows, rtol: 1e-5 };
      expectClose(`dweight ${tag}`, gw, dw, sumTol);
    }
  }
});

test('reference rmsNorm backward matches float64 finite differences', () => {
  const rows = 3, cols = 5, n = rows * cols, r = rng(43);
  const x = f64(r.f32(n)), w = f64(r.f32(cols)), dout = f64(r.f32(n));
  const rstd = new Float64Array(rows), out = new Float64Array(n);
  rmsNormForward(asF32(out), asF32(rstd), asF32(x), asF32(w), rows, cols, EPS);
  const dx = new Float64Array(n).fill(1), dw = new Float64Array(cols).fill(1);
  rmsNormBackward(asF32(dx), asF32(dw), asF32(dout), asF32(x), asF32(rstd), asF32(w), rows, cols);
  for (const g of [dx, dw]) for (let i = 0; i < g.length; i++) g[i] -= 1;
  gradcheck('rmsNorm', [x, w], [0, 1], ([xs, ws]) => {
    const y = new Float64Array(n);
    rmsNormForward(asF32(y), asF32(new Float64Array(rows)), asF32(xs), asF32(ws), rows, cols, EPS);
    return y;
  }, dout, [dx, dw]);
});

test('rmsNorm: short buffers are errors naming the argument', () => {
  for (const v of variants) {
    v.activate();
    const f = (k: number) => new Float32Array(k);
    assert.throws(() => v.backend.rmsNormForward(f(12), f(3), f(12), f(3), 3, 4, EPS), /rmsNormForward: argument 'weight' has 3 elements, needs at least 4/);
    assert.throws(() => v.backend.rmsNormBackward(f(12), f(4), f(12), f(12), f(2), f(4), 3, 4), /rmsNormBackward: argument 'rstd'/);
  }
});
