// Fused cross-entropy: native (every ISA) vs reference including GPT-2's vocabulary, ignored rows,
// accumulation, the reference backward vs float64 finite differences, and bad targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossEntropyBackward, crossEntropyForward } from '../../src/backend/reference/crossentropy.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();
const SHAPES: [number, number][] = [[1, 1], [3, 7], [5, 129], [17, 1000], [3, 50257]];

test('native cross-entropy forward/backward vs reference, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const [rows, vocab] of SHAPES) {
    const r = rng(rows * 31 + vocab);
    const n = rows * vocab;
    const logits = r.f32(n, 3);
    logits[0] = 60; // a dominant logit; the max must be subtracted
    const targets = r.ints(rows, vocab);
    if (rows > 2) targets[1] = -100;
    const dlosses = r.f32(rows), dl0 = r.f32(n);
    const losses = new Float32Array(rows), lse = new Float32Array(rows);
    crossEntropyForward(losses, lse, logits, targets, rows, vocab);
    const dl = dl0.slice();
    crossEntropyBackward(dl, dlosses, logits, lse, targets, rows, vocab);
    for (const v of variants) {
      v.activate();
      const tag = `${v.name} ${rows}x${vocab}`;
      const lo = new Float32Array(rows), ls = new Float32Array(rows);
      v.backend.crossEntropyForward(lo, ls, logits, targets, rows, vocab);
      expectClose(`lse ${tag}`, ls, lse, { atol: 2e-6, rtol: 1e-6 });
      expectClose(`losses ${tag}`, lo, losses, { atol: 2e-6, rtol: 1e-6 });
      const g = dl0.slice();
      v.backend.crossEntropyBackward(g, dlosses, logits, lse, targets, rows, vocab);
      expectClose(`dlogits ${tag}`, g, dl, { atol: 1e-6, rtol: 1e-5 });
      if (rows > 2) {
        assert.equal(lo[1], 0, 'an ignored row has loss 0');
        expectClose(`ignored row untouched ${tag}`, g.subarray(vocab, 2 * vocab), dl0.subarray(vocab, 2 * vocab), { atol: 0, rtol: 0 });
      }
    }
  }
});

test('cross-entropy by hand: uniform logits give log(vocab)', () => {
  const logits = new Float32Array(8).fill(0.5), losses = new Float32Array(2), lse = new Float32Array(2);
  const targets = new Int32Array([3, -100]);
  for (const b of [{ name: 'reference', f: crossEntropyForward }, ...variants.map((v) => ({ name: v.name, f: (...a: Parameters<typeof crossEntropyForward>) => { v.activate(); v.backend.crossEntropyForward(...a); } }))]) {
    b.f(losses, lse, logits, targets, 2, 4);
    expectClose(`${b.name} losses`, losses, [Math.log(4), 0], { atol: 1e-6, rtol: 0 });
    expectClose(`${b.name} lse`, lse, [0.5 + Math.log(4), 0.5 + Math.log(4)], { atol: 1e-6, rtol: 0 });
  }
});

test('reference cross-entropy backward matches float64 finite differences', () => {
  const rows = 4, vocab = 6, n = rows * vocab;
  const logits = f64(rng(11).f32(n, 2)), dlosses = f64(rng(12).f32(rows));
  const targets = new Int32Array([2, -100, 0, 5]);
  const losses = new Float64Array(rows), lse = new Float64Array(rows);
  crossEntropyForward(asF32(losses), asF32(lse), asF32(logits), targets, rows, vocab);
  const dl = new Float64Array(n).fill(0.5);
  crossEntropyBackward(asF32(dl), asF32(dlosses), asF32(logits), asF32(lse), targets, rows, vocab);
  for (let i = 0; i < n; i++) dl[i] -= 0.5;
  gradcheck('crossEntropy', [logits], [0], ([x]) => {
    const lo = new Float64Array(rows);
    crossEntropyForward(asF32(lo), asF32(new Float64Array(rows)), asF32(x), targets, rows, vocab);
    return lo;
  }, dlosses, [dl]);
});

test('cross-entropy: bad targets and short buffers are errors naming the row and value', () => {
  const f = (k: number) => new Float32Array(k);
  const bad = new Int32Array([0, 7, 1]), neg = new Int32Array([0, 1, -1]);
  assert.throws(() => crossEntropyForward(f(3), f(3), f(21), bad, 3, 7), /targets\[1\] = 7 is outside \[0, 7\)/);
  assert.throws(() => crossEntropyBackward(f(21), f(3), f(21), f(3), neg, 3, 7), /targets\[2\] = -1/);
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.crossEntropyForward(f(3), f(3), f(21), bad, 3, 7), /crossEntropyForward: targets\[1\] = 7 is outside \[0, 7\)/);
    assert.throws(() => v.backend.crossEntropyForward(f(3), f(3), f(21), neg, 3, 7), /targets\[2\] = -1/);
    assert.throws(() => v.backend.crossEntropyBackward(f(21), f(3), f(21), f(3), bad, 3, 7), /crossEntropyBackward: targets\[1\] = 7/);
    assert.throws(() => v.backend.crossEntropyForward(f(3), f(3), f(20), new Int32Array(3), 3, 7), /argument 'logits' has 20 elements, needs at least 21/);
    assert.throws(() => v.backend.crossEntropyBackward(f(21), f(2), f(21), f(3), new Int32Array(3), 3, 7), /argument 'dlosses'/);
    assert.throws(() => v.backend.crossEntropyForward(f(3), f(3), f(21), new Int32Array(2), 3, 7), /argument 'targets'/);
  }
});
