// Packing is invisible to the loss (block-diagonal attention, positions restarting per example),
// and a LoRA run stopped by Ctrl-C resumes exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/models/load.js';
import { causalLMLoss } from '../../src/train/losses.js';
import { collate } from '../../src/data/batches.js';
import { noGrad } from '../../src/tensor/tape.js';
import { applyLora, loraCheckpointHooks } from '../../src/lora/index.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { ArrayBatches, makeBatch } from '../helpers/array_batches.js';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const ex = (ids: number[], promptLen: number) => ({
  inputIds: Int32Array.from(ids),
  labels: Int32Array.from(ids.map((x, i) => (i < promptLen ? -100 : x))),
});

test('the packed loss equals the unpacked loss (sum over the same target tokens)', () => {
  const { model } = loadModel(fixturePath('gpt2-tiny'));
  model.eval();
  const examples = [ex([5, 17, 300, 42, 9, 11], 2), ex([480, 3, 3, 77, 120, 64, 0, 250], 3), ex([7, 8, 9], 1)];
  noGrad(() => {
    let unpacked = 0, unpackedTargets = 0;
    for (const e of examples) {
      const b = collate([[e]], { padId: 0 });
      unpacked += causalLMLoss(model.forward(b.inputIds, 1, b.seqLen), b.labels, 1, b.seqLen, 1).item();
      unpackedTargets += b.targetTokens;
    }
    const packed = collate([examples], { padId: 0, seqLen: 20, padTo: 'max', packed: true });
    assert.equal(packed.targetTokens, unpackedTargets, 'packing keeps exactly the same targets');
    const logits = model.forward(packed.inputIds, 1, packed.seqLen, { positions: packed.positions!, segments: packed.segments });
    const loss = causalLMLoss(logits, packed.labels, 1, packed.seqLen, 1).item();
    assert.ok(Math.abs(loss - unpacked) < 1e-4, `packed ${loss} vs unpacked ${unpacked}`);
    // Without the mask and positions the numbers differ: the test can tell.
    const leaky = causalLMLoss(model.forward(packed.inputIds, 1, packed.seqLen), packed.labels, 1, packed.seqLen, 1).item();
    assert.ok(Math.abs(leaky - unpacked) > 1e-3);
  });
});

test('a LoRA run stopped by Ctrl-C and resumed continues exactly', async () => {
  const rows = (s: number) => Array.from({ length: 2 }, (_, r) => Array.from({ length: 12 }, (_, t) => (s * 37 + r * 11 + t * 5) % 512));
  const batches = () => new ArrayBatches([makeBatch(rows(1)), makeBatch(rows(2)), makeBatch(rows(3))]);
  const opts = (out: string, resume = false): TrainOptions => ({
    out, maxSteps: 6, gradAccum: 1, lr: 1e-2, weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, warmupSteps: 1, schedule: 'linear',
    maxGradNorm: 1, evalEvery: 0, saveEvery: 0, logEvery: 1, seed: 3, resume, overwrite: false, keepCheckpoints: 2, progress: false, config: {},
  });
  const lora = () => {
    const { model } = loadModel(fixturePath('gpt2-tiny'));
    applyLora(model, { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ['c_attn', 'c_fc'] }, { seed: 1 });
    return model;
  };
  const a = tempDir('lora-'), b = tempDir('lora-');
  const straight = lora();
  await train(straight, batches(), opts(a), loraCheckpointHooks(straight));
  const first = lora();
  const s = await train(first, batches(), opts(b), { ...loraCheckpointHooks(first), onStep: (m) => { if (m.step === 2) process.emit('SIGINT'); } });
  assert.equal(s.steps, 2);
  const second = lora();
  await train(second, batches(), opts(b, true), loraCheckpointHooks(second));
  const curve = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((m) => [m.step, m.loss]);
  assert.deepEqual(curve(b), curve(a));
  const pa = new Map(straight.namedParameters());
  for (const [n, p] of second.namedParameters()) assert.deepEqual(p.data, pa.get(n)!.data, `${n} differs`);
});
