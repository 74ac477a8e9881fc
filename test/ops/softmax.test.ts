// Softmax over the last dim: native (every ISA) vs reference, accumulation, float64 gradcheck, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { softmaxBackward, softmaxForward } from '../../src/backend/reference/softmax.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();
const SHAPES: [number, number][] = [[1, 1], [1, 7], [7, 129], [129, 17], [3, 768], [200, 1000], [33, 50]];

test('native softmax forward/backward vs reference, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const [rows, cols] of SHAPES) {
    const r = rng(rows * 13 + cols);
    const n = rows * cols;
    const x = r.f32(n, 4), dout = r.f32(n), dx0 = r.f32(n);
    x[0] = 80; // large logits: the max must be subtracted
    if (n > 2) x[n - 1] = -1e4;
    const out = new Float32Array(n);
    softmaxForward(out, x, rows, cols);
    const dx = dx0.slice();
    softmaxBackward(dx, dout, out, rows, cols);
    for (const v of variants) {
      v.activate();
      const o = new Float32Array(n);
      v.backend.softmaxForward(o, x, rows, cols);
      const tag = `${v.name} ${rows}x${cols}`;
      expectClose(`out ${tag}`, o, out, { atol: 1e-8, rtol: 4e-6 });
      const gx = dx0.slice();
      v.backend.softmaxBackward(gx, dout, out, rows, cols);
      expectClose(`dx ${tag}`, gx, dx, { atol: 1e-6, rtol: 1e-5 });
    }
  }
});

test('reference softmax backward matches float64 finite differences', () => {
  const rows = 3, cols = 6, n = rows * cols, r = rng(44);
  const x = f64(r.f32(n)), dout = f64(r.f32(n));
  const out = new Float64Array(n);
  softmaxForward(asF32(out), asF32(x), rows, cols);
  const dx = new Float64Array(n).fill(1);
  softmaxBackward(asF32(dx), asF32(dout), asF32(out), rows, cols);
  for (let i = 0; i < n; i++) dx[i] -= 1;
  gradcheck('softmax', [x], [0], ([xs]) => { const y = new Float64Array(n); softmaxForward(asF32(y), asF32(xs), rows, cols); return y; }, dout, [dx]);
});

test('softmax: short buffers are errors naming the argument', () => {
  for (const v of variants) {
    v.activate();
    const f = (k: number) => new Float32Array(k);
    assert.throws(() => v.backend.softmaxForward(f(12), f(11), 3, 4), /softmaxForward: argument 'x' has 11 elements, needs at least 12/);
    assert.throws(() => v.backend.softmaxBackward(f(12), f(12), f(1), 3, 4), /softmaxBackward: argument 'out'/);
  }
});
