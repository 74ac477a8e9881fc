// Classification metrics against hand-computed cases and the worked examples of scikit-learn's
// f1_score docs and seqeval's README (values quoted there, recomputed by hand in the comments).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationReport, confusionMatrix, entityF1, getEntities, multiLabelF1, regressionMetrics } from '../../src/eval/classification_metrics.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test("scikit-learn's f1_score example: y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1] -> macro 0.2667", () => {
  const r = classificationReport([0, 2, 1, 0, 0, 1], [0, 1, 2, 0, 1, 2], 3);
  // class 0: tp 2, predicted 3, gold 2 -> p 2/3, r 1, f1 0.8; classes 1 and 2: tp 0 -> f1 0
  close(r.perClass[0].precision, 2 / 3, 'p0'); close(r.perClass[0].recall, 1, 'r0'); close(r.perClass[0].f1, 0.8, 'f0');
  close(r.macroF1, 0.8 / 3, 'macro'); close(r.accuracy, 2 / 6, 'accuracy');
  assert.deepEqual(r.confusion, [[2, 0, 0], [1, 0, 1], [0, 2, 0]]);
  assert.deepEqual(r.perClass.map((c) => c.support), [2, 2, 2]);
});

test('macro-F1 leaves out classes absent from gold and predictions; a class never predicted scores 0', () => {
  const r = classificationReport([1, 1, 0, 1], [1, 0, 0, 1], 4);
  // class 0: tp 1, pred 1, gold 2 -> p 1, r .5, f1 2/3; class 1: tp 2, pred 3, gold 2 -> p 2/3, r 1, f1 .8
  close(r.perClass[0].f1, 2 / 3, 'f0'); close(r.perClass[1].f1, 0.8, 'f1');
  close(r.macroF1, (2 / 3 + 0.8) / 2, 'macro over present classes');
  assert.deepEqual(r.perClass[3], { precision: 0, recall: 0, f1: 0, support: 0 });
  assert.throws(() => confusionMatrix([5], [0], 3), /out of range/);
});

test("seqeval's README example: entity F1 0.50; chunks as its default mode reads them", () => {
  const gold = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const pred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const r = entityF1(pred, gold);
  // gold MISC 3..5 and PER; predicted MISC 2..5 (wrong span) and PER: tp 1 of 2 both ways
  close(r.f1, 0.5, 'f1'); close(r.precision, 0.5, 'p'); close(r.recall, 0.5, 'r');
  close(r.perType.PER.f1, 1, 'PER'); close(r.perType.MISC.f1, 0, 'MISC');
  // an I- after O starts an entity; a type change ends one; B after B splits
  assert.deepEqual(getEntities(['I-PER', 'I-PER', 'I-LOC', 'O', 'B-ORG', 'B-ORG', 'I-ORG']), [
    { type: 'PER', start: 0, end: 1 }, { type: 'LOC', start: 2, end: 2 }, { type: 'ORG', start: 4, end: 4 }, { type: 'ORG', start: 5, end: 6 }]);
  // sentences are joined with an O between them, so an entity cannot run across the boundary
  close(entityF1([['B-A'], ['I-A']], [['B-A'], ['I-A']]).f1, 1, 'two sentences');
  assert.equal(getEntities(['B-A', 'O', 'I-A']).length, 2);
});

test('multi-label F1 at 0.5 (micro and macro) and regression MSE / Pearson, by hand', () => {
  const probs = [[0.9, 0.2, 0.6], [0.1, 0.7, 0.4], [0.5, 0.5, 0.1]];
  const gold = [[1, 0, 1], [0, 0, 1], [1, 1, 0]];
  // label 0: tp 2; label 1: tp 1 fp 1; label 2: tp 1 fn 1 -> micro 2*4/(8+1+1) = .8; macro (1 + 2/3 + 2/3)/3
  const m = multiLabelF1(probs, gold);
  close(m.microF1, 0.8, 'micro'); close(m.macroF1, (1 + 2 / 3 + 2 / 3) / 3, 'macro');
  const r = regressionMetrics([1, 2, 3, 5], [1, 3, 2, 6]);
  // errors 0,1,1,1 -> mse .75; deviations (-1.75,-.75,.25,2.25) and (-2,0,-1,3): cov 10, var 8.75 and 14
  close(r.mse, 0.75, 'mse');
  const mp = 2.75, mg = 3, p = [1, 2, 3, 5], g = [1, 3, 2, 6];
  const cov = p.reduce((a, x, i) => a + (x - mp) * (g[i] - mg), 0), vp = p.reduce((a, x) => a + (x - mp) ** 2, 0), vg = g.reduce((a, x) => a + (x - mg) ** 2, 0);
  close(r.pearson, cov / Math.sqrt(vp * vg), 'pearson');
  close(r.pearson, 10 / Math.sqrt(8.75 * 14), 'pearson by hand');
});
