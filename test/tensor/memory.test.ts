// Activations are released by backward() itself: 500 training steps of a small GPT-2 keep the
// resident set flat (the pool recycles every buffer after the first step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT2LMHeadModel, gpt2ConfigFrom } from '../../src/models/gpt2.js';
import { crossEntropy } from '../../src/tensor/ops/loss.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { liveCount } from '../../src/tensor/tape.js';

test('500 training steps: RSS grows by less than 4 MB after warm-up, no live tensors left', () => {
  const model = new GPT2LMHeadModel(gpt2ConfigFrom({ vocab_size: 256, n_positions: 64, n_embd: 64, n_layer: 2, n_head: 4, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }));
  model.initWeights(1);
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const B = 2, T = 32;
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let i = 0; i < ids.length; i++) { ids[i] = (i * 7) % 256; targets[i] = (i * 7 + 7) % 256; }
  const step = () => {
    const loss = crossEntropy(model.forward(ids, B, T), targets);
    loss.backward();
    opt.stepUpdate();
    opt.zeroGrad();
    return loss.item();
  };
  for (let i = 0; i < 50; i++) step();
  const before = process.memoryUsage().rss;
  let last = 0;
  for (let i = 0; i < 450; i++) last = step();
  const growth = process.memoryUsage().rss - before;
  assert.ok(Number.isFinite(last));
  assert.equal(liveCount(), 1, 'only the last loss stays tracked');
  assert.ok(growth < 4 * 1024 * 1024, `RSS grew by ${(growth / 1024 / 1024).toFixed(2)} MB over 450 steps`);
});
