// Embedding gather/scatter-add: native (every ISA) vs reference with repeated ids, gradcheck, bad ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { embeddingBackward, embeddingForward } from '../../src/backend/reference/embedding.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();

test('native embedding forward/backward vs reference, repeated ids, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const [n, dim, vocab] of [[1, 1, 1], [7, 7, 3], [129, 129, 50], [300, 768, 20], [5000, 17, 9]]) {
    const r = rng(n + dim + vocab);
    const weight = r.f32(vocab * dim), dout = r.f32(n * dim), dw0 = r.f32(vocab * dim);
    const ids = r.ints(n, vocab); // few distinct ids: many repeats
    const out = new Float32Array(n * dim);
    embeddingForward(out, weight, ids, n, dim);
    const dw = dw0.slice();
    embeddingBackward(dw, dout, ids, n, dim);
    for (const v of variants) {
      v.activate();
      const tag = `${v.name} n=${n} dim=${dim} vocab=${vocab}`;
      const o = new Float32Array(n * dim);
      v.backend.embeddingForward(o, weight, ids, n, dim);
      expectClose(`out ${tag}`, o, out, { atol: 0, rtol: 0 });
      const g = dw0.slice();
      v.backend.embeddingBackward(g, dout, ids, n, dim);
      expectClose(`dweight ${tag}`, g, dw, { atol: 0, rtol: 0 }); // same summation order per element
    }
  }
});

test('reference embedding backward matches float64 finite differences', () => {
  const n = 5, dim = 3, vocab = 4;
  const weight = f64(rng(1).f32(vocab * dim)), dout = f64(rng(2).f32(n * dim));
  const ids = new Int32Array([2, 0, 2, 3, 2]);
  const dw = new Float64Array(vocab * dim);
  embeddingBackward(asF32(dw), asF32(dout), ids, n, dim);
  gradcheck('embedding', [weight], [0], ([w]) => { const y = new Float64Array(n * dim); embeddingForward(asF32(y), asF32(w), ids, n, dim); return y; }, dout, [dw]);
});

test('embedding: ids outside the vocabulary and short buffers are errors', () => {
  const f = (k: number) => new Float32Array(k);
  assert.throws(() => embeddingForward(f(6), f(8), new Int32Array([1, 4, 0]), 3, 2), /ids\[1\] = 4 is outside the vocabulary \[0, 4\)/);
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.embeddingForward(f(6), f(8), new Int32Array([1, 4, 0]), 3, 2), /embeddingForward: ids\[1\] = 4 is outside the vocabulary \[0, 4\)/);
    assert.throws(() => v.backend.embeddingForward(f(6), f(8), new Int32Array([1, 0, -3]), 3, 2), /ids\[2\] = -3/);
    const dw = f(8);
    assert.throws(() => v.backend.embeddingBackward(dw, f(6), new Int32Array([0, 1, 9]), 3, 2), /embeddingBackward: ids\[2\] = 9/);
    assert.deepEqual(Array.from(dw), new Array(8).fill(0), 'a rejected backward writes nothing');
    assert.throws(() => v.backend.embeddingForward(f(5), f(8), new Int32Array(3), 3, 2), /argument 'out' has 5 elements/);
    assert.throws(() => v.backend.embeddingBackward(dw, f(5), new Int32Array(3), 3, 2), /argument 'dout'/);
    assert.throws(() => v.backend.embeddingForward(f(6), f(8), new Int32Array(2), 3, 2), /argument 'ids'/);
  }
});
