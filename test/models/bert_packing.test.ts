// A padded batch runs through BERT on its real tokens only (packed into one sequence whose attention
// segments are the rows): the pieces (scatterRows, packed dropout masks) on both backends, and the
// model: padding changes no real token's output, gradient or dropout mask.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend, setBackend } from '../../src/backend/select.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { scatterRows } from '../../src/tensor/ops/layout.js';
import { dropout, dropoutPacking, withDropoutPacking, withDropoutSeed } from '../../src/tensor/ops/dropout.js';
import { mul } from '../../src/tensor/ops/elementwise.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { taskArchitectureFor } from '../../src/models/registry.js';
import type { BertForTokenClassification } from '../../src/models/bert.js';
import type { DistilBertForTokenClassification } from '../../src/models/distilbert.js';
import { packTokens, type TaskInput } from '../../src/models/task_model.js';
import { taskLoss } from '../../src/train/task_losses.js';
import { expectClose, rng } from '../helpers/close.js';
import { requireNative } from '../helpers/backends.js';

requireNative();
const native = backend();
const BACKENDS = [{ name: 'native', be: native }, { name: 'reference', be: referenceBackend }];

function withBackend<T>(be: typeof native, fn: () => T): T {
  setBackend(be);
  try { return fn(); } finally { setBackend(native); }
}

test('packTokens: real tokens in order, rows as segments; null without padding', () => {
  const p = packTokens(Int32Array.from([1, 1, 0, 0, 1, 1, 1, 0, 0, 1]), 2, 5)!;
  assert.deepEqual(Array.from(p.index), [0, 1, 4, 5, 6, 9]);
  assert.deepEqual(Array.from(p.segments), [0, 0, 0, 1, 1, 1]);
  assert.equal(p.padded, 10);
  assert.equal(packTokens(new Int32Array(6).fill(1), 2, 3), null);
  assert.equal(packTokens(null, 2, 3), null);
  assert.deepEqual(Array.from(dropoutPacking(p.index, 10).runs), [0, 0, 2, 2, 4, 3, 5, 9, 1]);
});

test('scatterRows puts rows in place (zeros elsewhere) and gathers the gradient back, both backends', () => {
  const index = Int32Array.from([3, 0, 4]), C = 5;
  const x0 = rng(1).f32(3 * C), w = rng(2).f32(6 * C);
  for (const { name, be } of BACKENDS) {
    withBackend(be, () => {
      const x = Tensor.param(x0.slice(), [3, C]);
      const out = scatterRows(x, index, 6);
      assert.deepEqual(out.shape, [6, C]);
      const want = new Float32Array(6 * C), wantDx = new Float32Array(3 * C);
      index.forEach((r, i) => {
        want.set(x0.subarray(i * C, (i + 1) * C), r * C);
        wantDx.set(w.subarray(r * C, (r + 1) * C), i * C);
      });
      assert.deepEqual(Array.from(out.data), Array.from(want), name);
      sum(mul(out, Tensor.from(w, [6, C]))).backward();
      expectClose(`${name} dx`, x.grad!, wantDx, { atol: 0, rtol: 0 });
    });
  }
  assert.throws(() => scatterRows(Tensor.param(x0.slice(), [3, C]), Int32Array.from([1, 1, 2]), 6), /repeated/);
  assert.throws(() => scatterRows(Tensor.param(x0.slice(), [3, C]), Int32Array.from([1, 6, 2]), 6), /outside \[0, 6\)/);
});

test('dropout over packed tokens draws the padded batch\'s masks at the real positions (forward and backward)', () => {
  const B = 3, T = 7, C = 6, p = 0.3;
  const mask = Int32Array.from({ length: B * T }, (_, i) => (i % T < [7, 4, 2][Math.floor(i / T)] ? 1 : 0));
  const pack = packTokens(mask, B, T)!, N = pack.index.length;
  const xs = rng(3).f32(B * T * C), dout = rng(4).f32(B * T * C);
  // Padded: the whole batch, then read at the real rows.
  const xp = Tensor.param(xs.slice(), [B, T, C]);
  const yp = withDropoutSeed(11, () => dropout(xp, p, 99));
  const ypData = yp.data.slice(); // backward frees the activations
  sum(mul(yp, Tensor.from(dout, [B, T, C]))).backward();
  // Packed: only the real rows.
  const gather = (a: Float32Array) => { const o = new Float32Array(N * C); pack.index.forEach((r, i) => o.set(a.subarray(r * C, (r + 1) * C), i * C)); return o; };
  const xk = Tensor.param(gather(xs), [1, N, C]);
  const yk = withDropoutSeed(11, () => withDropoutPacking(dropoutPacking(pack.index, pack.padded), () => dropout(xk, p, 99)));
  const ykData = yk.data.slice();
  sum(mul(yk, Tensor.from(gather(dout), [1, N, C]))).backward();
  assert.ok(ykData.some((v) => v === 0) && ykData.some((v) => v !== 0), 'some dropped, some kept');
  assert.deepEqual(Array.from(ykData), Array.from(gather(ypData)));
  assert.deepEqual(Array.from(xk.grad!), Array.from(gather(xp.grad!)));
});

const TINY = {
  model_type: 'bert', vocab_size: 50, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64,
  max_position_embeddings: 32, type_vocab_size: 2, hidden_dropout_prob: 0.2, pad_token_id: 0, num_labels: 3,
  classifier_dropout: 0.3, // the head's masks are seeded with the trunk's (seededForward)
};
const DISTIL = {
  model_type: 'distilbert', vocab_size: 50, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 32,
  dropout: 0.2, pad_token_id: 0, num_labels: 3,
};

function tinyModel(type: 'bert' | 'roberta' = 'bert'): BertForTokenClassification {
  const cfg = { ...TINY, model_type: type, pad_token_id: type === 'roberta' ? 1 : 0 };
  const m = taskArchitectureFor(cfg, 'test').create(cfg, 'test', 'token_cls');
  m.initWeights(3);
  return m as BertForTokenClassification;
}

/** The trunk's forward (BertModel / DistilBertModel) of a tiny token classifier, without dropout. */
function tinyTrunk(type: 'bert' | 'roberta' | 'distilbert'): (input: TaskInput) => Tensor {
  const identity = (x: Tensor) => x;
  if (type !== 'distilbert') {
    const model = tinyModel(type).eval();
    return (input) => model.base.forward(input, identity);
  }
  const m = taskArchitectureFor(DISTIL, 'test').create(DISTIL, 'test', 'token_cls') as DistilBertForTokenClassification;
  m.initWeights(3);
  m.eval();
  return (input) => m.distilbert.forward(input, identity);
}

test('BERT, RoBERTa and DistilBERT: a padded row\'s real tokens give what the row alone gives; padding positions are 0', () => {
  const T = 9, lens = [9, 5, 3];
  for (const type of ['bert', 'roberta', 'distilbert'] as const) {
    const trunk = tinyTrunk(type);
    const pad = type === 'roberta' ? 1 : 0;
    const ids = new Int32Array(lens.length * T).fill(pad), mask = new Int32Array(lens.length * T);
    lens.forEach((n, b) => { for (let t = 0; t < n; t++) { ids[b * T + t] = 2 + ((b * 7 + t * 3) % 40); mask[b * T + t] = 1; } });
    const h = trunk({ ids, batch: lens.length, seqLen: T, attentionMask: mask });
    lens.forEach((n, b) => {
      const alone = trunk({ ids: ids.slice(b * T, b * T + n), batch: 1, seqLen: n });
      const C = TINY.hidden_size;
      expectClose(`${type} row ${b}`, h.data.subarray(b * T * C, (b * T + n) * C), alone.data, { atol: 2e-6, rtol: 1e-5 });
      assert.ok(h.data.subarray((b * T + n) * C, (b + 1) * T * C).every((v: number) => v === 0), `${type} row ${b}: padding is 0`);
    });
  }
});

test('BERT training step with padding and dropout: native equals reference (packed attention, dropout runs, scatter)', () => {
  const B = 3, T = 8;
  const ids = Int32Array.from({ length: B * T }, (_, i) => 1 + ((i * 13) % 49));
  const mask = Int32Array.from({ length: B * T }, (_, i) => (i % T < [8, 5, 2][Math.floor(i / T)] ? 1 : 0));
  const labels = Int32Array.from({ length: B * T }, (_, i) => (mask[i] ? i % 3 : -100));
  const input: TaskInput = { ids, batch: B, seqLen: T, attentionMask: mask, dropoutSeed: 5 };
  const grads = BACKENDS.map(({ be }) => withBackend(be, () => {
    const model = tinyModel().train();
    const loss = taskLoss(model, model.forward(input), labels);
    loss.backward();
    return { loss: loss.item(), g: model.namedParameters().map(([n, p]) => [n, p.grad ? p.grad.slice() : null] as const) };
  }));
  assert.ok(Math.abs(grads[0].loss - grads[1].loss) < 1e-5, `loss ${grads[0].loss} vs ${grads[1].loss}`);
  grads[0].g.forEach(([name, g], i) => {
    const r = grads[1].g[i][1];
    assert.equal(!g, !r, name);
    if (g && r) expectClose(name, g, r, { atol: 1e-5, rtol: 1e-3 });
  });
});
