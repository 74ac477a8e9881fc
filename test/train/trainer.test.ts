// The trainer: memorisation, accumulation == big batch, exact resume (also after Ctrl-C),
// NaN detection, and refusing to overwrite another run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { GPT2LMHeadModel, gpt2ConfigFrom } from '../../src/models/gpt2.js';
import { loadModel } from '../../src/models/load.js';
import { causalLMLoss, countTargets } from '../../src/train/losses.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { fullFineTuneHooks } from '../../src/train/weights_io.js';
import { ArrayBatches, makeBatch } from '../helpers/array_batches.js';
import { expectClose } from '../helpers/close.js';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const tmp = () => tempDir('train-');

function tinyModel(dropout = 0) {
  const m = new GPT2LMHeadModel(gpt2ConfigFrom({ vocab_size: 64, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2, resid_pdrop: dropout, embd_pdrop: dropout, attn_pdrop: 0 }));
  m.initWeights(3);
  return m;
}

function opts(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    out, maxSteps: 10, gradAccum: 1, lr: 3e-3, weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, warmupSteps: 0,
    schedule: 'constant', maxGradNorm: 1, evalEvery: 0, saveEvery: 0, logEvery: 1, seed: 1, resume: false,
    overwrite: false, keepCheckpoints: 2, progress: false, config: {}, ...over,
  };
}

const seqs = (n: number, T: number, seed: number) => Array.from({ length: n }, (_, r) => Array.from({ length: T }, (_, t) => (seed * 7 + r * 13 + t * t * 3) % 64));

test('a tiny model memorises a short text (loss < 0.1)', async () => {
  const model = tinyModel();
  const batch = makeBatch(seqs(2, 24, 1));
  const s = await train(model, new ArrayBatches([batch]), opts(tmp(), { maxSteps: 150, lr: 1e-2 }), fullFineTuneHooks(model));
  assert.ok(s.finalLoss! < 0.1, `final loss ${s.finalLoss}`);
});

test('gradient accumulation over 4 micro-batches equals one big batch', () => {
  const rows = seqs(4, 16, 5).map((r) => r.map((x) => x % 512));
  const labels = rows.map((r, i) => r.map((x, t) => (t < i * 3 ? -100 : x))); // different target counts per row
  const big = (() => {
    const { model } = loadModel(fixturePath('gpt2-tiny'));
    const b = makeBatch(rows, labels);
    causalLMLoss(model.forward(b.inputIds, 4, 16), b.labels, 4, 16).backward();
    return model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.grad!)] as const);
  })();
  const { model } = loadModel(fixturePath('gpt2-tiny'));
  const micro = rows.map((r, i) => makeBatch([r], [labels[i]]));
  const total = micro.reduce((s, b) => s + b.targetTokens, 0);
  assert.equal(total, countTargets(Int32Array.from(labels.flat()), 4, 16));
  for (const b of micro) causalLMLoss(model.forward(b.inputIds, 1, 16), b.labels, 1, 16, total).backward();
  const grads = new Map(model.namedParameters().map(([n, p]) => [n, p.grad!]));
  for (const [n, g] of big) expectClose(`accumulated grad ${n}`, grads.get(n)!, g, { atol: 1e-6, rtol: 1e-4 });
});

test('a run stopped by Ctrl-C and resumed gives the same loss curve and weights, bit for bit', async () => {
  // Dropout, accumulation, warmup and a cosine schedule all have to continue exactly.
  const batches = () => new ArrayBatches([makeBatch(seqs(2, 16, 1)), makeBatch(seqs(2, 16, 2)), makeBatch(seqs(2, 16, 3))]);
  const o = (out: string, resume = false) => opts(out, { maxSteps: 8, gradAccum: 2, warmupSteps: 2, schedule: 'cosine', resume });
  const a = tmp(), b = tmp();
  const straight = tinyModel(0.1);
  await train(straight, batches(), o(a), fullFineTuneHooks(straight));
  const first = tinyModel(0.1);
  const s = await train(first, batches(), o(b), { ...fullFineTuneHooks(first), onStep: (x) => { if (x.step === 3) process.emit('SIGINT'); } });
  assert.equal(s.interrupted, true);
  assert.equal(s.steps, 3);
  assert.ok(existsSync(join(b, 'checkpoint-3', 'optimizer.safetensors')));
  // A fresh process would start from other weights: they must all come from the checkpoint.
  const second = tinyModel(0.1);
  second.initWeights(99);
  await train(second, batches(), o(b, true), fullFineTuneHooks(second));
  const losses = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((m) => [m.step, m.loss, m.lr]);
  assert.equal(losses(a).length, 8);
  assert.deepEqual(losses(b), losses(a));
  const pb = new Map(second.namedParameters());
  for (const [n, p] of straight.namedParameters()) assert.deepEqual(pb.get(n)!.data, p.data, `weights of ${n} differ`);
});

test('a NaN loss stops training, naming the step and suggesting a lower learning rate', async () => {
  const model = tinyModel();
  model.transformer.wte.weight.data[5] = NaN;
  await assert.rejects(train(model, new ArrayBatches([makeBatch(seqs(2, 8, 1))]), opts(tmp()), fullFineTuneHooks(model)),
    /training loss is NaN at step 1.*lower learning rate/);
});

test('an output dir holding another run is refused unless --resume or --overwrite', async () => {
  const out = tmp();
  const model = tinyModel();
  const src = () => new ArrayBatches([makeBatch(seqs(1, 8, 1))]);
  await train(model, src(), opts(out, { maxSteps: 1 }), fullFineTuneHooks(model));
  await assert.rejects(train(model, src(), opts(out, { maxSteps: 1 }), fullFineTuneHooks(model)), /holds another run.*--resume.*--overwrite/);
  await train(model, src(), opts(out, { maxSteps: 1, overwrite: true }), fullFineTuneHooks(model));
  assert.ok(existsSync(join(out, 'loss_chart.svg')));
});
