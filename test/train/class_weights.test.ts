// --class-weights against torch: CrossEntropyLoss(weight=) with scikit-learn's 'balanced' weights, token
// labels with -100, BCEWithLogitsLoss(weight=); and micro-batches that add up to the whole batch's loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor } from '../../src/tensor/tensor.js';
import { add, scale } from '../../src/tensor/ops/elementwise.js';
import { taskLoss } from '../../src/train/task_losses.js';
import { classWeights, countPerClass } from '../../src/train/class_weights.js';
import { classificationTrainBatch } from '../../src/data/classification_batches.js';
import type { ClassificationRow } from '../../src/data/classification.js';
import type { TaskModel } from '../../src/models/task_model.js';
import { expectClose } from '../helpers/close.js';
import { fixturePath } from '../helpers/fixtures.js';

const golden = JSON.parse(readFileSync(fixturePath('class_weights', 'golden.json'), 'utf8'));
const names = ['a', 'b', 'c'];
const head = (task: 'seq_cls' | 'token_cls', problemType: TaskModel['labels']['problemType']) =>
  ({ task, numLabels: 3, architecture: 'test head', labels: { id2label: names, problemType } }) as unknown as TaskModel;

test("'balanced' is scikit-learn's n / (classes x count); explicit weights are checked", () => {
  const counts = countPerClass(3, golden.seq.labels);
  expectClose('balanced', classWeights('balanced', names, counts), golden.seq.balanced, { atol: 1e-6 });
  assert.deepEqual(Array.from(classWeights('1, 2.5,0', names, counts)), [1, 2.5, 0]);
  assert.throws(() => classWeights('1,2', names, counts), /2 weights for 3 classes \(a, b, c/);
  assert.throws(() => classWeights('1,x,2', names, counts), /'x' is not a non-negative number/);
  assert.throws(() => classWeights('1,-1,2', names, counts), /'-1'/);
});

test('weighted cross-entropy equals torch CrossEntropyLoss(weight=): sequence labels, token labels with -100', () => {
  for (const [name, g, task, w] of [
    ['seq', golden.seq, 'seq_cls', golden.seq.balanced],
    ['token', golden.token, 'token_cls', golden.token.weights],
  ] as const) {
    const logits = Tensor.from((g.logits as number[][]).flat(), [g.logits.length, 3], true);
    const loss = taskLoss(head(task, task === 'seq_cls' ? 'single_label_classification' : null), logits, Int32Array.from(g.labels), { classWeights: Float32Array.from(w) });
    loss.backward();
    expectClose(`${name} loss`, [loss.item()], [g.loss], { atol: 1e-6 });
    expectClose(`${name} grad`, logits.grad!, (g.grad as number[][]).flat(), { atol: 1e-6 });
  }
});

test('weighted BCE equals torch BCEWithLogitsLoss(weight=) (multi-label)', () => {
  const g = golden.multi;
  const logits = Tensor.from((g.logits as number[][]).flat(), [4, 3], true);
  const loss = taskLoss(head('seq_cls', 'multi_label_classification'), logits, Float32Array.from((g.labels as number[][]).flat()), { classWeights: Float32Array.from(g.weights) });
  loss.backward();
  expectClose('loss', [loss.item()], [g.loss], { atol: 1e-6 });
  expectClose('grad', logits.grad!, (g.grad as number[][]).flat(), { atol: 1e-6 });
});

test('micro-batches weighted by their targets add up to torch\'s weighted mean over the whole batch', () => {
  const g = golden.seq, w = Float32Array.from(g.balanced);
  const rows: ClassificationRow[] = (g.labels as number[]).map((y) => ({ inputIds: [1, 2], tokenTypeIds: null, label: y, tokenLabels: null }));
  const opts = { padId: 0, problemType: 'single_label_classification' as const, tokenTypes: false, classWeights: w };
  const halves = [classificationTrainBatch(rows.slice(0, 3), opts), classificationTrainBatch(rows.slice(3), opts)];
  const total = halves[0].targetTokens + halves[1].targetTokens;
  const logits = (g.logits as number[][]);
  const parts = halves.map((b, i) => {
    const l = Tensor.from(logits.slice(i ? 3 : 0, i ? 8 : 3).flat(), [b.batch, 3]);
    return scale(taskLoss(head('seq_cls', 'single_label_classification'), l, b.labels, { classWeights: w }), b.targetTokens / total);
  });
  expectClose('accumulated loss', [add(parts[0], parts[1]).item()], [g.loss], { atol: 1e-6 });
});
