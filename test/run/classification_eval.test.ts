// gptune eval on classifiers against Hugging Face + scikit-learn (test/fixtures/enc/eval): the loss the
// head trains with, accuracy / macro-F1 / per-class / confusion matrix, multi-label F1, regression MSE and
// Pearson, token accuracy and entities; a PEFT adapter; unknown and missing labels named by file:line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEval } from '../../src/run/eval.js';
import { runClassificationEval, type ClassificationEvalResult } from '../../src/run/eval_classification.js';
import { entityF1 } from '../../src/eval/classification_metrics.js';
import { encodeInput } from '../../src/tokenizers/encode_inputs.js';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { expectClose } from '../helpers/close.js';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { REGRESSION, SEQCLS, TOKENIZER, evalData, golden, iobTokenClassifier, jsonlRows, multiLabelClassifier } from '../helpers/classifier_fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const LOSS_ATOL = 1e-4;
const base = { tokenizer: TOKENIZER, batchSize: 5 };
const close = (name: string, got: number, want: number, atol = LOSS_ATOL) => assert.ok(Math.abs(got - want) <= atol, `${name}: ${got} vs ${want}`);

test('the tiny tokenizer encodes the eval texts and pairs as HF\'s BertTokenizer did', () => {
  const tok = loadTokenizerDir(TOKENIZER)!.tokenizer;
  const g = golden('seqcls');
  jsonlRows(evalData('seqcls')).forEach((r, i) => assert.deepEqual(encodeInput(tok, r.text, r.text_pair ?? null).ids, g.input_ids[i], `row ${i + 1}`));
});

test('single-label: loss = HF\'s cross-entropy; accuracy, macro-F1, per-class and confusion = scikit-learn', () => {
  const g = golden('seqcls');
  // Batches of 5 over 12 rows: the mean over rows does not depend on the batching.
  const r = runClassificationEval({ model: SEQCLS, data: evalData('seqcls'), ...base });
  assert.equal(r.head, 'seq_cls');
  assert.equal(r.rows, 12);
  close('loss', r.loss, g.loss);
  // By hand from the confusion matrix [[0,1,0],[1,7,0],[0,3,0]]: accuracy 7/12; neu precision 7/11,
  // recall 7/8, F1 14/19; neg and pos F1 0; macro over the 3 classes present = (14/19)/3.
  assert.deepEqual(r.confusionMatrix, g.confusion);
  assert.equal(r.accuracy, g.accuracy);
  close('macroF1', r.macroF1!, g.macro_f1, 1e-12);
  ['neg', 'neu', 'pos'].forEach((n, i) => {
    const c = r.perClass![n];
    close(`${n} precision`, c.precision, g.precision[i], 1e-12);
    close(`${n} recall`, c.recall, g.recall[i], 1e-12);
    close(`${n} f1`, c.f1, g.f1[i], 1e-12);
    assert.equal(c.support, g.support[i]);
  });
});

test('multi-label: BCE loss and micro/macro F1 at 0.5 = HF and scikit-learn', () => {
  const g = golden('multilabel');
  const dir = multiLabelClassifier();
  try {
    const r = runClassificationEval({ model: dir, data: evalData('multilabel'), ...base });
    assert.equal(r.problemType, 'multi_label_classification');
    close('loss', r.loss, g.loss);
    close('microF1', r.microF1!, g.micro_f1, 1e-12);
    close('macroF1', r.macroF1!, g.macro_f1, 1e-12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('regression: MSE loss and Pearson = HF and scikit-learn', () => {
  const g = golden('regression');
  const r = runClassificationEval({ model: REGRESSION, data: evalData('regression'), ...base });
  assert.equal(r.problemType, 'regression');
  close('loss', r.loss, g.loss);
  close('mse', r.mse!, g.mse);
  close('pearson', r.pearson!, g.pearson, 1e-3);
});

test('token classification: loss over first sub-tokens, token accuracy, entities from HF\'s predicted tags', () => {
  const g = golden('tokcls');
  const dir = iobTokenClassifier();
  try {
    const r = runClassificationEval({ model: dir, data: evalData('tokcls'), ...base, batchSize: 6 });
    assert.equal(r.head, 'token_cls');
    close('loss', r.loss, g.loss);
    assert.equal(r.tokens, g.tokens);
    close('token accuracy', r.accuracy!, g.token_accuracy, 1e-6);
    // seqeval is not installed: the entity report is gptune's seqeval port (tested on seqeval's own example) over HF's tags.
    const gold = jsonlRows(evalData('tokcls')).map((row) => row.tags);
    assert.deepEqual(r.entity, entityF1(g.pred_tags, gold));
    assert.ok(r.entity!.perType.PER.support > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a PEFT SEQ_CLS adapter: eval loss on the fixture batch = PEFT\'s loss', () => {
  const cases = fixtureCases('enc/bert-seqcls');
  const tmp = tempDir('clseval-');
  try {
    // Pre-tokenized rows, padding left out: gptune pads them again.
    const data = join(tmp, 'ids.jsonl');
    writeFileSync(data, cases.input_ids.map((ids: number[], b: number) => {
      const n = cases.attention_mask[b].reduce((a: number, x: number) => a + x, 0);
      return JSON.stringify({ input_ids: ids.slice(0, n), token_type_ids: cases.token_type_ids[b].slice(0, n), label: cases.labels[b] });
    }).join('\n') + '\n');
    const r = runClassificationEval({ model: fixturePath('enc', 'bert-seqcls'), adapter: fixturePath('enc', 'bert-seqcls', 'lora'), data, batchSize: 2 });
    close('lora loss', r.loss, cases.lora.loss);
    const plain = runClassificationEval({ model: fixturePath('enc', 'bert-seqcls'), data, batchSize: 1 });
    close('base loss', plain.loss, cases.loss);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('unknown labels and unlabelled rows are named by file:line; causal-LM flags are refused on a classifier', () => {
  const tmp = tempDir('clseval-');
  try {
    const data = join(tmp, 'bad.jsonl');
    writeFileSync(data, '{"text": "w5 w6", "label": "pos"}\n{"text": "w7", "label": "neg"}\n{"text": "w8", "label": "maybe"}\n{"text": "w9", "label": "Pos"}\n');
    // Every unknown label's row in one error, the first leading with file:line.
    assert.throws(() => runClassificationEval({ model: SEQCLS, data, ...base }), (e: Error) => e.message === `${data}:3: 'label': unknown label "maybe" (labels: neg, neu, pos); also line 4 "Pos"`);
    writeFileSync(data, '{"text": "w5 w6", "label": "pos"}\n{"text": "w7"}\n');
    assert.throws(() => runClassificationEval({ model: SEQCLS, data, ...base }), (e: Error) => e.message.startsWith(`${data}:2: expected {"text", "label"}`));
    writeFileSync(data, '{"text": "w5 w6", "label": "pos"}\n{"text": "w7", "label": null}\n');
    assert.throws(() => runClassificationEval({ model: SEQCLS, data, ...base }), (e: Error) => e.message.startsWith(`${data}:2: the row has no label`));
    writeFileSync(data, '{"input_ids": [2, 500, 3], "label": "pos"}\n');
    assert.throws(() => runClassificationEval({ model: SEQCLS, data, batchSize: 1 }), (e: Error) => e.message.startsWith(`${data}:1: 'input_ids': token id 500 is outside the vocabulary (0..127)`));
    writeFileSync(data, '{"text": "w5 w6", "label": "pos"}\n');
    assert.throws(() => runClassificationEval({ model: SEQCLS, data, batchSize: 1 }), (e: Error) => e.message.startsWith(`${data}:1: text rows need a tokenizer`));
    const opts = { model: SEQCLS, tokenizer: TOKENIZER, data: evalData('seqcls'), batchSize: 8, maxNewTokens: 64, json: false, adapter: undefined, baseQuant: undefined, maxLength: undefined, limit: undefined };
    assert.throws(() => runEval({ ...opts, task: true }), /--task is for causal language models; .* has a classification head/);
    const r = runEval({ ...opts, task: false }) as ClassificationEvalResult;
    assert.equal(r.head, 'seq_cls', 'runEval routes a classifier to the classification path');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
