// addBias and sumRows (the bias gradient): native (every ISA) vs reference, accumulation, gradcheck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addBias, sumRows } from '../../src/backend/reference/bias.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();
const SHAPES: [number, number][] = [[1, 1], [7, 1], [1, 7], [3, 129], [129, 17], [64, 768], [2000, 33], [5, 1100]];

test('native addBias / sumRows vs reference, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const [rows, cols] of SHAPES) {
    const r = rng(rows * 1000 + cols);
    const x = r.f32(rows * cols), bias = r.f32(cols), acc0 = r.f32(cols);
    const wantOut = x.slice();
    addBias(wantOut, bias, rows, cols);
    const wantSum = acc0.slice();
    sumRows(wantSum, x, rows, cols);
    for (const v of variants) {
      v.activate();
      const out = x.slice();
      v.backend.addBias(out, bias, rows, cols);
      expectClose(`addBias ${v.name} ${rows}x${cols}`, out, wantOut, { atol: 0, rtol: 0 });
      const s = acc0.slice(); // pre-filled: sumRows accumulates
      v.backend.sumRows(s, x, rows, cols);
      expectClose(`sumRows ${v.name} ${rows}x${cols}`, s, wantSum, { atol: 1e-6, rtol: 1e-6 });
    }
  }
});

test('sumRows is the gradient of addBias (float64 finite differences)', () => {
  const rows = 5, cols = 6;
  const x = f64(rng(1).f32(rows * cols)), bias = f64(rng(2).f32(cols)), dout = f64(rng(3).f32(rows * cols));
  const dbias = new Float64Array(cols);
  sumRows(asF32(dbias), asF32(dout), rows, cols);
  // sumRows rounds its chains to float32, so compare at float32 precision
  gradcheck('addBias', [x, bias], [1], ([xs, b]) => { const y = xs.slice(); addBias(asF32(y), asF32(b), rows, cols); return y; },
    dout, [dbias], { atol: 1e-6, rtol: 1e-6 });
});

test('bias kernels: short buffers are errors naming the argument', () => {
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.addBias(new Float32Array(11), new Float32Array(4), 3, 4), /addBias: argument 'out' has 11 elements, needs at least 12/);
    assert.throws(() => v.backend.sumRows(new Float32Array(5), new Float32Array(14), 3, 5), /sumRows: argument 'x'/);
  }
});
