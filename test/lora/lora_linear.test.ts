// LoraLinear on its own: the forward formula for both weight layouts, PEFT's init, frozen base,
// finite-difference gradients, merge / unmerge / fuse (with the safe-merge refusal) and dropout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear } from '../../src/nn/layers.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { noGrad } from '../../src/tensor/tape.js';
import type { WeightLayout } from '../../src/tensor/ops/linear.js';
import { LoraLinear } from '../../src/lora/lora_linear.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, rng } from '../helpers/close.js';
import { gradcheck } from '../helpers/gradcheck.js';

const [IN, OUT, R, ROWS] = [7, 5, 3, 4];

function makeLayer(layout: WeightLayout, { seed = 1, dropout = 0, alpha = 6, useRslora = false, bias = true } = {}) {
  const r = rng(seed);
  const base = new Linear(IN, OUT, { layout, bias });
  base.weight.data.set(r.f32(IN * OUT, 0.5));
  base.bias?.data.set(r.f32(OUT, 0.1));
  const lora = new LoraLinear(base, { r: R, alpha, dropout, useRslora, rng: new Rng(seed) });
  lora.lora_B.weight.data.set(r.f32(OUT * R, 0.3)); // PEFT starts B at zero; nonzero so the delta shows
  return { base, lora, x: r.f32(ROWS * IN) };
}

/** W[o][i] of either layout. */
const w = (l: LoraLinear, o: number, i: number) => (l.layout === 'out_in' ? l.weight.data[o * IN + i] : l.weight.data[i * OUT + o]);

/** y = x W^T + b + scaling * (x A^T) B^T, in float64. */
function expected(l: LoraLinear, x: Float32Array): Float64Array {
  const A = l.lora_A.weight.data, B = l.lora_B.weight.data;
  const y = new Float64Array(ROWS * OUT);
  for (let n = 0; n < ROWS; n++) {
    const low = new Float64Array(R);
    for (let k = 0; k < R; k++) for (let i = 0; i < IN; i++) low[k] += x[n * IN + i] * A[k * IN + i];
    for (let o = 0; o < OUT; o++) {
      let s = l.bias ? l.bias.data[o] : 0;
      for (let i = 0; i < IN; i++) s += x[n * IN + i] * w(l, o, i);
      let d = 0;
      for (let k = 0; k < R; k++) d += low[k] * B[o * R + k];
      y[n * OUT + o] = s + l.scaling * d;
    }
  }
  return y;
}

const run = (l: { forward(x: Tensor): Tensor }, x: Float32Array) => noGrad(() => Float32Array.from(l.forward(Tensor.from(x, [ROWS, IN])).data));

for (const layout of ['out_in', 'in_out'] as const) {
  test(`LoraLinear (${layout}): forward is base(x) + (x A^T) B^T * scaling`, () => {
    const { lora, x } = makeLayer(layout);
    assert.equal(lora.scaling, 2);
    assert.deepEqual(lora.lora_A.weight.shape, [R, IN]);
    assert.deepEqual(lora.lora_B.weight.shape, [OUT, R]);
    expectClose('forward', run(lora.eval(), x), expected(lora, x), { atol: 1e-5, rtol: 1e-5 });
  });

  test(`LoraLinear (${layout}): gradients of x, A and B match finite differences; the base gets none`, () => {
    const { lora, x } = makeLayer(layout);
    const A0 = Float32Array.from(lora.lora_A.weight.data), B0 = Float32Array.from(lora.lora_B.weight.data);
    gradcheck(`lora ${layout}`, ([xt, a, b]) => {
      lora.lora_A.weight = a;
      lora.lora_B.weight = b;
      return lora.forward(xt);
    }, [Float32Array.from(x), A0, B0], [[ROWS, IN], [R, IN], [OUT, R]]);
    assert.equal(lora.weight.requiresGrad, false);
    assert.equal(lora.weight.grad, null, 'frozen weight: no gradient buffer');
    assert.equal(lora.bias!.grad, null, 'frozen bias: no gradient buffer');
  });

  test(`LoraLinear (${layout}): merge equals the unmerged forward, is idempotent, and unmerge restores W`, () => {
    const { lora, x } = makeLayer(layout);
    lora.eval();
    const W0 = Float32Array.from(lora.weight.data);
    const y0 = run(lora, x);
    // deltaWeight in the base's layout: (B A)^T for Conv1D's [in, out].
    const delta = lora.deltaWeight();
    const A = lora.lora_A.weight.data, B = lora.lora_B.weight.data;
    for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) {
      let s = 0;
      for (let k = 0; k < R; k++) s += B[o * R + k] * A[k * IN + i];
      const at = layout === 'out_in' ? o * IN + i : i * OUT + o;
      assert.ok(Math.abs(delta[at] - s * lora.scaling) < 1e-6, `delta[${o}, ${i}]`);
    }
    lora.merge();
    assert.equal(lora.merged, true);
    const W1 = Float32Array.from(lora.weight.data);
    expectClose('merged forward', run(lora, x), y0, { atol: 1e-5, rtol: 1e-5 });
    lora.merge();
    assert.deepEqual(lora.weight.data, W1, 'a second merge changes nothing');
    lora.unmerge();
    expectClose('unmerged W', lora.weight.data, W0, { atol: 1e-6, rtol: 0 });
    expectClose('unmerged forward', run(lora, x), y0, { atol: 1e-5, rtol: 1e-5 });
  });
}

test('LoraLinear: merging a broken adapter (Inf / overflow) is refused and W is left as it was', () => {
  for (const bad of [Infinity, NaN, 'overflow'] as const) {
    const { lora } = makeLayer('in_out');
    if (bad === 'overflow') {
      // Every factor finite, but W + (B A) * scaling exceeds float32's range.
      lora.lora_A.weight.data.fill(1);
      lora.lora_B.weight.data.fill(3e38);
    } else {
      lora.lora_B.weight.data[2] = bad;
    }
    const W0 = Float32Array.from(lora.weight.data);
    assert.throws(() => lora.merge(), /NaNs or Infs in the merged weight/);
    assert.equal(lora.merged, false);
    assert.deepEqual(lora.weight.data, W0);
  }
});

test('LoraLinear: PEFT init (A kaiming-uniform within 1/sqrt(in), B zeros), seeded', () => {
  const make = (seed: number, init: boolean | 'gaussian' = true, inF = 400, r = 8) =>
    new LoraLinear(new Linear(inF, 16), { r, alpha: 16, rng: new Rng(seed), init });
  const l = make(3);
  const A = l.lora_A.weight.data, bound = 1 / Math.sqrt(400);
  assert.ok(l.lora_B.weight.data.every((v) => v === 0), 'B starts at zero');
  assert.ok(A.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...A.map(Math.abs)) > 0.98 * bound, 'uniform over the whole range');
  const mean = A.reduce((s, v) => s + v, 0) / A.length;
  const variance = A.reduce((s, v) => s + v * v, 0) / A.length;
  assert.ok(Math.abs(mean) < 0.05 * bound && Math.abs(variance - bound * bound / 3) < 0.1 * bound * bound / 3, `mean ${mean}, var ${variance}`);
  assert.deepEqual(make(3).lora_A.weight.data, A, 'same seed, same adapter');
  assert.notDeepEqual(make(4).lora_A.weight.data, A);
  // 'gaussian': A ~ N(0, (1/r)^2); false: B is not zero (torch's nn.Linear default init).
  const g = make(5, 'gaussian').lora_A.weight.data;
  const std = Math.sqrt(g.reduce((s, v) => s + v * v, 0) / g.length);
  assert.ok(Math.abs(std - 1 / 8) < 0.01, `gaussian std ${std}`);
  assert.ok(make(6, false).lora_B.weight.data.some((v) => v !== 0));
  // A fresh adapter is the identity: y equals the base output exactly.
  const { base, x } = makeLayer('out_in');
  const fresh = new LoraLinear(base, { r: 2, alpha: 4, rng: new Rng(1) });
  const plain = new Linear(IN, OUT, { layout: 'out_in' });
  plain.weight.data.set(base.weight.data);
  plain.bias!.data.set(base.bias!.data);
  assert.deepEqual(run(fresh, x), run(plain, x));
});

test('LoraLinear: use_rslora scales by alpha / sqrt(r)', () => {
  const { lora, x } = makeLayer('out_in', { alpha: 5, useRslora: true });
  assert.equal(lora.scaling, 5 / Math.sqrt(R));
  expectClose('rslora forward', run(lora.eval(), x), expected(lora, x), { atol: 1e-5, rtol: 1e-5 });
});

test('LoraLinear: dropout only in training, only on the LoRA path, reproducible from its seed', () => {
  const { lora, x } = makeLayer('in_out', { dropout: 0.5 });
  let seed = 11;
  lora.dropoutSeed = () => seed;
  const evalOut = run(lora.eval(), x);
  expectClose('eval: no dropout', evalOut, expected(lora, x), { atol: 1e-5, rtol: 1e-5 });
  lora.train();
  const t1 = run(lora, x), t2 = run(lora, x);
  assert.deepEqual(t1, t2, 'same seed, same mask');
  assert.notDeepEqual(t1, evalOut, 'training applies dropout');
  seed = 12;
  assert.notDeepEqual(run(lora, x), t1, 'another seed, another mask');
  // With B = 0 the LoRA path is zero, so training output equals the base exactly: the base input is never dropped.
  lora.lora_B.weight.data.fill(0);
  const base = new Linear(IN, OUT, { layout: 'in_out' });
  base.weight.data.set(lora.weight.data);
  base.bias!.data.set(lora.bias!.data);
  assert.deepEqual(run(lora, x), run(base, x));
});
