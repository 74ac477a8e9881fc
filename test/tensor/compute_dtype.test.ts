// --compute-dtype bf16: products with weights run through gemmBf16 (bf16 operands, f32 sums), forward
// and backward alike; a checkpointed block's replay computes as its forward did; f32 stays exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/models/registry.js';
import { causalLMModelLoss } from '../../src/train/losses.js';
import { setComputeDtype, computeDtype, type ComputeDtype } from '../../src/tensor/compute_dtype.js';
import type { CausalLM } from '../../src/models/causal_lm.js';

const CONFIG = { model_type: 'llama', vocab_size: 300, hidden_size: 64, intermediate_size: 160, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false };
const B = 2, T = 24;
const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 5) % 300);

function lossAndGrads(dtype: ComputeDtype, gradientCheckpointing = false): { loss: number; grads: Float32Array[] } {
  const model: CausalLM = createModel(CONFIG);
  model.initWeights(3);
  const previous = setComputeDtype(dtype);
  try {
    const loss = causalLMModelLoss(model, ids, ids, B, T, { gradientCheckpointing });
    const value = loss.data[0];
    loss.backward();
    return { loss: value, grads: model.parameters().map((p) => Float32Array.from(p.grad!)) };
  } finally {
    setComputeDtype(previous);
  }
}

const maxRelDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((g, i) => {
  let num = 0, den = 0;
  for (let j = 0; j < g.length; j++) { num = Math.max(num, Math.abs(g[j] - b[i][j])); den = Math.max(den, Math.abs(b[i][j])); }
  return den > 0 ? num / den : 0;
}));

test('bf16 compute gives the f32 loss and gradients within bf16 rounding, and is not the f32 path', () => {
  const f32 = lossAndGrads('f32'), bf16 = lossAndGrads('bf16');
  assert.equal(computeDtype(), 'f32', 'restored');
  assert.notEqual(bf16.loss, f32.loss, 'bf16 operands change the sums');
  assert.ok(Math.abs(bf16.loss - f32.loss) / f32.loss < 5e-3, `loss ${bf16.loss} vs ${f32.loss}`);
  const rel = maxRelDiff(bf16.grads, f32.grads);
  assert.ok(rel > 0 && rel < 0.05, `largest gradient difference ${rel} of each tensor's largest gradient`);
});

test('bf16 compute with gradient checkpointing replays each block in bf16: the same gradients bit for bit', () => {
  const plain = lossAndGrads('bf16'), replayed = lossAndGrads('bf16', true);
  assert.equal(replayed.loss, plain.loss);
  plain.grads.forEach((g, i) => assert.deepEqual(replayed.grads[i], g, `parameter ${i}`));
});

test('the fused head in bf16 packs its weight once per call: the same loss and gradients as one gemmBf16 per block, and an updated weight is used', async () => {
  const { linearCrossEntropy } = await import('../../src/tensor/ops/linear_cross_entropy.js');
  const { Tensor } = await import('../../src/tensor/tensor.js');
  const { gemmBf16: refGemmBf16 } = await import('../../src/backend/reference/gemm.js');
  const { crossEntropyForward, crossEntropyBackward } = await import('../../src/backend/reference/crossentropy.js');
  const V = 700, C = 48, R = 40;
  const rand = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
  const targets = Int32Array.from({ length: R }, (_, i) => (i * 131) % V);
  const W = Tensor.param(rand(V * C, 1), [V, C], 'w'), h = Tensor.param(rand(R * C, 2), [R, C], 'h');
  // The spec: logits = bf16(h) @ bf16(W)^T, cross-entropy in f32, dh = bf16(dlogits) @ bf16(W), dW = bf16(dlogits)^T bf16(h).
  const spec = () => {
    const logits = new Float32Array(R * V), losses = new Float32Array(R), lse = new Float32Array(R);
    refGemmBf16(logits, h.data, W.data, R, V, C, false, true, false);
    crossEntropyForward(losses, lse, logits, targets, R, V);
    const dl = new Float32Array(R * V);
    crossEntropyBackward(dl, new Float32Array(R).fill(1), logits, lse, targets, R, V); // per unit of loss sum, as the op
    const dh = new Float32Array(R * C), dW = new Float32Array(V * C);
    refGemmBf16(dh, dl, W.data, R, C, V, false, false, false);
    refGemmBf16(dW, dl, h.data, V, C, R, true, false, false);
    return { loss: losses.reduce((s, x) => s + x, 0) / R, dh: dh.map((x) => x / R), dW: dW.map((x) => x / R) };
  };
  const previous = setComputeDtype('bf16');
  try {
    for (let round = 0; round < 2; round++) {
      h.grad = null; W.grad = null;
      const loss = linearCrossEntropy(h, W, targets, { blockRows: 12 }); // 4 blocks share one packing
      loss.backward();
      const want = spec();
      const close = (got: Float32Array, exp: Float32Array, what: string) => {
        const scale = Math.max(...exp.map(Math.abs));
        const worst = Math.max(...got.map((g, i) => Math.abs(g - exp[i])));
        assert.ok(worst <= 1e-4 * scale + 1e-7, `round ${round} ${what}: ${worst} of ${scale}`);
      };
      assert.ok(Math.abs(loss.data[0] - want.loss) < 1e-5 * want.loss, `round ${round} loss ${loss.data[0]} vs ${want.loss}`);
      close(h.grad!, want.dh, 'dh');
      close(W.grad!, want.dW, 'dW');
      // An optimizer-like update in place: the next call must multiply the new values (no stale packing).
      W.data.set(rand(V * C, 7));
    }
  } finally {
    setComputeDtype(previous);
  }
});
