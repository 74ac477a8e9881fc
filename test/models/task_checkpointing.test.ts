// --gradient-checkpointing on task heads (encoders, GPT-2 with a score head, masked LM): the trainer's
// StepForward reaches every block loop, each block runs again during backward, and the loss and every
// gradient equal the run without it, bit for bit, with dropout and padding in the batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTaskModel } from '../../src/models/load_task.js';
import type { TaskModel } from '../../src/models/task_model.js';
import { taskBatchLoss } from '../../src/train/task_losses.js';
import { maskedLMBatchLoss } from '../../src/run/train_mlm.js';
import type { TrainBatch } from '../../src/train/trainer.js';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { withConfig } from '../helpers/classifier_fixtures.js';
import { taskFixtureInput } from './task_fixture_runner.js';

/** Every dropout of the fixture's config turned on, so recomputed blocks must replay their masks. */
const DROPOUT: Record<string, Record<string, number>> = {
  bert: { hidden_dropout_prob: 0.1, classifier_dropout: 0.3 },
  distilbert: { dropout: 0.1, seq_classif_dropout: 0.3 },
  gpt2: { embd_pdrop: 0.1, resid_pdrop: 0.1 },
};

function lossAndGrads(name: string, gradientCheckpointing: boolean): { loss: number; grads: Array<[string, Float32Array | null]>; blockRuns: number; blocks: number } {
  const cases = fixtureCases(`enc/${name}`);
  const family = name.split('-')[0];
  const model: TaskModel = loadTaskModel(withConfig(fixturePath('enc', name), (c) => Object.assign(c, DROPOUT[family]))).model.train();
  let blockRuns = 0;
  const blocks = model.namedModules().filter(([n]) => /(^|\.)(layer|h)\.\d+$/.test(n)).map(([, m]) => m);
  for (const m of blocks) {
    const f = (m as unknown as { forward: (...a: unknown[]) => unknown }).forward.bind(m);
    Object.assign(m, { forward: (...a: unknown[]) => { blockRuns++; return f(...a); } });
  }
  const { input, labels } = taskFixtureInput(cases);
  const targets = model.task === 'seq_cls' ? input.batch : labels.filter((y) => y !== -100).length;
  const batch: TrainBatch = {
    inputIds: input.ids, labels, batch: input.batch, seqLen: input.seqLen, positions: null, segments: null, targetTokens: targets,
    attentionMask: input.attentionMask, tokenTypeIds: input.tokenTypeIds,
  };
  const batchLoss = model.task === 'masked_lm' ? maskedLMBatchLoss(model) : taskBatchLoss(model);
  const loss = batchLoss(batch, { dropoutSeed: 11, dropoutRows: { first: 0, count: input.batch }, gradientCheckpointing }, targets);
  loss.backward();
  return { loss: loss.item(), grads: model.namedParameters().map(([n, p]) => [n, p.grad ? p.grad.slice() : null]), blockRuns, blocks: blocks.length };
}

for (const name of ['bert-seqcls', 'distilbert-seqcls', 'bert-tokcls', 'distilbert-mlm', 'gpt2-seqcls']) {
  test(`${name}: checkpointed gradients equal the plain ones, each block recomputed once`, () => {
    const plain = lossAndGrads(name, false), ckpt = lossAndGrads(name, true);
    assert.ok(plain.blocks >= 2, `${name}: ${plain.blocks} blocks found`);
    assert.equal(plain.blockRuns, plain.blocks);
    assert.equal(ckpt.blockRuns, 2 * ckpt.blocks, 'each block runs again during backward');
    assert.equal(ckpt.loss, plain.loss);
    plain.grads.forEach(([n, g], i) => {
      const c = ckpt.grads[i][1];
      assert.equal(!c, !g, n);
      if (g && c) assert.ok(g.every((v, j) => v === c[j]), `${n}: gradients differ`);
    });
    assert.ok(plain.grads.filter(([, g]) => g?.some((v) => v !== 0)).length > 4, 'gradients reach the trunk');
  });
}
