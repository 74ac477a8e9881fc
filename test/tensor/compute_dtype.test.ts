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
