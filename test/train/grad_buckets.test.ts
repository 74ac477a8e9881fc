// The gradient-ready hook and the buckets built on it: a parameter is reported exactly once per
// backward, only when its gradient is final (tied weights and checkpointed blocks included), and
// buckets start in order during backward, not after it. One rank here (a sum over one rank is the
// identity), so this runs without MPI; the equality with one process under mpirun is distributed.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load.js';
import { causalLMModelLoss } from '../../src/train/losses.js';
import { withGradReadyHook } from '../../src/tensor/tape.js';
import { GradBuckets } from '../../src/train/grad_buckets.js';
import type { Distributed } from '../../src/train/distributed.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { fixturePath } from '../helpers/fixtures.js';
import { applyLora } from '../../src/lora/index.js';

const ids = Int32Array.from({ length: 2 * 12 }, (_, i) => (i * 37 + 5) % 512);

/** A job of one rank that records when each collective starts (in ops of backward run so far). */
function oneRank(ops: { n: number }, started: number[]): Distributed {
  return {
    rank: 0, size: 1, isRoot: true,
    allreduceSum: () => {}, iallreduceSum: () => { started.push(ops.n); return started.length - 1; }, wait: () => {}, progress: () => 0,
    barrier: () => {}, finalize: () => {}, abort: (code) => process.exit(code),
  };
}

for (const [gradientCheckpointing, lora] of [[false, false], [true, false], [true, true]]) {
  test(`every parameter is reported once, with its final gradient, and buckets start during backward${gradientCheckpointing ? ' (gradient checkpointing)' : ''}${lora ? ' (LoRA)' : ''}`, () => {
    const { model } = loadModel(fixturePath('gpt2-tiny')); // lm_head tied to wte: wte's gradient comes from both ends
    if (lora) applyLora(model, { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ['c_attn', 'c_fc'] }, { seed: 1 });
    model.train();
    const params = model.namedParameters().map(([, p]) => p).filter((p) => p.requiresGrad);
    const ops = { n: 0 }, started: number[] = [];
    const buckets = new GradBuckets(oneRank(ops, started), params, lora ? 0.001 : 0.01);
    assert.ok(buckets.buckets.length > 3, `several buckets (${buckets.buckets.length})`);
    const atReady = new Map<Tensor, Float32Array | null>();
    const hook = {
      ready: (p: Tensor) => { assert.ok(!atReady.has(p), `${p.name} reported twice`); atReady.set(p, p.grad && p.grad.slice()); buckets.ready(p); },
      afterOp: () => { ops.n++; },
    };
    const loss = causalLMModelLoss(model, ids, ids, 2, 12, { gradientCheckpointing }, 22);
    withGradReadyHook(hook, () => loss.backward());
    assert.equal(atReady.size, params.length, 'every trainable parameter reported');
    for (const p of params) assert.deepEqual(atReady.get(p), p.grad, `${p.name}: the gradient at ready() is the final one`);
    assert.equal(started.length, buckets.buckets.length, 'all buckets started within backward');
    assert.ok(started[0] <= ops.n / 2, `the first bucket starts early in backward (op ${started[0]} of ${ops.n})`);
    assert.deepEqual(started, [...started].sort((a, b) => a - b));
    // finish() leaves the gradients (summed over one rank: unchanged) and resets for the next step.
    const before = params.map((p) => p.grad!.slice());
    assert.deepEqual(buckets.finish([1.5, 2]), [1.5, 2]);
    params.forEach((p, i) => assert.deepEqual(p.grad, before[i]));
    assert.ok(buckets.buckets.every((b) => b.waiting === b.params.length && b.request === null));
  });
}

test('a rank with no rows in the last micro-batch starts every bucket in finish(), in order; a parameter without a gradient keeps none', () => {
  const { model } = loadModel(fixturePath('gpt2-tiny'));
  const params = model.namedParameters().map(([, p]) => p).filter((p) => p.requiresGrad);
  for (const p of params) p.grad = null;
  const ops = { n: 0 }, started: number[] = [];
  const buckets = new GradBuckets(oneRank(ops, started), params, 0);
  assert.equal(buckets.buckets.length, params.length, '--bucket-mb 0: one bucket per parameter');
  assert.equal(buckets.buckets[0].params[0], params[params.length - 1], 'reverse parameter order');
  buckets.finish([0]);
  assert.equal(started.length, params.length + 1, 'every bucket, then the extras');
  assert.ok(params.every((p) => p.grad === null));
});
