// gptune predict against Hugging Face (test/fixtures/enc/eval and the enc fixtures): probabilities are the
// softmax of HF's logits and the text-classification pipeline's scores; sigmoid per label for multi-label;
// regression values; per-word tags as the token-classification pipeline with aggregation_strategy="first".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPredict, type PredictRunOptions } from '../../src/run/predict.js';
import { expectClose } from '../helpers/close.js';
import { fixtureCases, fixturePath, fixtureTensors } from '../helpers/fixtures.js';
import { REGRESSION, SEQCLS, TOKENIZER, evalData, golden, iobTokenClassifier, jsonlRows, multiLabelClassifier } from '../helpers/classifier_fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const ATOL = 2e-5;
const opts = (o: Partial<PredictRunOptions> & { model: string }): PredictRunOptions => ({
  adapter: undefined, tokenizer: TOKENIZER, text: undefined, textPair: undefined, data: undefined, topK: undefined,
  threshold: 0.5, batchSize: 5, maxLength: undefined, json: true, ...o,
});
const softmax = (x: number[]) => { const m = Math.max(...x); const e = x.map((v) => Math.exp(v - m)); const s = e.reduce((a, b) => a + b); return e.map((v) => v / s); };

test('single-label: probabilities = softmax of HF\'s logits = the text-classification pipeline (top_k=None)', () => {
  const g = golden('seqcls');
  const rows = jsonlRows(evalData('seqcls'));
  // --data (labels ignored), every label ranked.
  const preds = runPredict(opts({ model: SEQCLS, data: evalData('seqcls'), topK: 3 }));
  assert.equal(preds.length, rows.length);
  preds.forEach((p, i) => {
    assert.equal(p.line, i + 1);
    assert.equal(p.text, rows[i].text);
    // The pipeline nests a single text's answer one list deeper than a pair's.
    const pipe = (Array.isArray(g.pipeline[i][0]) ? g.pipeline[i][0] : g.pipeline[i]) as { label: string; score: number }[];
    assert.deepEqual(p.labels!.map((l) => l.label), pipe.map((l) => l.label), `row ${i + 1} ranking`);
    expectClose(`row ${i + 1} pipeline scores`, p.labels!.map((l) => l.score), pipe.map((l) => l.score), { atol: ATOL, rtol: 0 });
    const byName = Object.fromEntries(p.labels!.map((l) => [l.label, l.score]));
    expectClose(`row ${i + 1} softmax`, ['neg', 'neu', 'pos'].map((n) => byName[n]), g.probs[i], { atol: ATOL, rtol: 0 });
    assert.equal(p.label, pipe[0].label);
  });
  // --text / --text-pair: the same numbers; top-k 1 by default.
  const pairs = rows.filter((r) => r.text_pair);
  const withPair = runPredict(opts({ model: SEQCLS, text: pairs.map((r) => r.text), textPair: pairs.map((r) => r.text_pair) }));
  withPair.forEach((p, k) => {
    const i = rows.indexOf(pairs[k]);
    assert.equal(p.labels!.length, 1);
    assert.equal(p.text_pair, pairs[k].text_pair);
    assert.ok(Math.abs(p.score! - Math.max(...g.probs[i])) <= ATOL, `pair row ${i + 1}`);
  });
});

test('pre-tokenized rows, with and without a PEFT adapter: softmax of HF\'s / PEFT\'s fixture logits', () => {
  const cases = fixtureCases('enc/bert-seqcls');
  const tmp = tempDir('predict-');
  try {
    const data = join(tmp, 'ids.jsonl');
    writeFileSync(data, cases.input_ids.map((ids: number[], b: number) => {
      const n = cases.attention_mask[b].reduce((a: number, x: number) => a + x, 0);
      return JSON.stringify({ input_ids: ids.slice(0, n), token_type_ids: cases.token_type_ids[b].slice(0, n) });
    }).join('\n') + '\n');
    for (const [adapter, file] of [[undefined, ['cases.safetensors']], [fixturePath('enc', 'bert-seqcls', 'lora'), ['lora', 'lora_cases.safetensors']]] as const) {
      const logits = Array.from(fixtureTensors('enc', 'bert-seqcls', ...file).get('logits')!.data);
      const preds = runPredict(opts({ model: fixturePath('enc', 'bert-seqcls'), adapter, tokenizer: undefined, data, topK: 3, batchSize: 2 }));
      preds.forEach((p, b) => {
        const byName = Object.fromEntries(p.labels!.map((l) => [l.label, l.score]));
        expectClose(`${adapter ? 'lora ' : ''}row ${b}`, ['neg', 'neu', 'pos'].map((n) => byName[n]), softmax(logits.slice(b * 3, b * 3 + 3)), { atol: ATOL, rtol: 0 });
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('multi-label: sigmoid per label, labels over the threshold; regression: the value', () => {
  const dir = multiLabelClassifier();
  try {
    const g = golden('multilabel');
    const rows = jsonlRows(evalData('multilabel'));
    const preds = runPredict(opts({ model: dir, text: rows.map((r) => r.text), threshold: 0.9 }));
    preds.forEach((p, i) => {
      expectClose(`row ${i + 1}`, ['neg', 'neu', 'pos'].map((n) => p.scores![n]), g.probs[i], { atol: ATOL, rtol: 0 });
      const want = ['neg', 'neu', 'pos'].filter((_, j) => g.probs[i][j] >= 0.9).sort((a, b) => p.scores![b] - p.scores![a]);
      assert.deepEqual(p.labels!.map((l) => l.label), want);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const g = golden('regression');
  const rows = jsonlRows(evalData('regression'));
  const preds = runPredict(opts({ model: REGRESSION, text: rows.map((r) => r.text) }));
  expectClose('regression values', preds.map((p) => p.value!), g.values, { atol: 1e-4, rtol: 0 });
});

test('token classification: each word takes its first sub-token (HF\'s word probabilities), entities as the pipeline groups them', () => {
  const g = golden('tokcls');
  const dir = iobTokenClassifier();
  try {
    const rows = jsonlRows(evalData('tokcls'));
    const fromWords = runPredict(opts({ model: dir, data: evalData('tokcls') }));
    fromWords.forEach((p, i) => {
      assert.deepEqual(p.words!.map((w) => w.word), rows[i].tokens);
      p.words!.forEach((w, j) => {
        const probs: number[] = g.word_probs[i][j];
        const k = probs.indexOf(Math.max(...probs));
        assert.equal(w.label, g.labels[k], `row ${i + 1} word ${j}`);
        assert.ok(Math.abs(w.score - probs[k]) <= ATOL, `row ${i + 1} word ${j}: ${w.score} vs ${probs[k]}`);
      });
    });
    // Text inputs: the pipeline's entities (type, mean score, word) in order.
    const fromText = runPredict(opts({ model: dir, text: rows.map((r) => r.tokens.join(' ')) }));
    fromText.forEach((p, i) => {
      const pipe = g.pipeline[i] as { entity_group: string; score: number; word: string }[];
      assert.deepEqual(p.entities!.map((e) => [e.entity, e.word]), pipe.map((e) => [e.entity_group, e.word]), `row ${i + 1}`);
      expectClose(`row ${i + 1} entity scores`, p.entities!.map((e) => e.score), pipe.map((e) => e.score), { atol: ATOL, rtol: 0 });
      assert.deepEqual(p.words!.map((w) => w.word), rows[i].tokens, 'words decoded from their sub-tokens');
    });
    assert.ok(fromText.some((p) => p.entities!.length > 0), 'some entities found');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('predict: inputs refused by name', () => {
  assert.throws(() => runPredict(opts({ model: SEQCLS })), /give the inputs: --text/);
  assert.throws(() => runPredict(opts({ model: SEQCLS, text: ['a'], data: evalData('seqcls') })), /--text or --data, not both/);
  assert.throws(() => runPredict(opts({ model: SEQCLS, text: ['a', 'b'], textPair: ['c'] })), /1 --text-pair for 2 --text/);
  assert.throws(() => runPredict(opts({ model: SEQCLS, tokenizer: undefined, text: ['w5'] })), /text inputs need a tokenizer/);
  assert.throws(() => runPredict(opts({ model: fixturePath('gpt2-tiny'), text: ['w5'] })), /causal language model with no classification head/);
});

test('pre-tokenized rows on RoBERTa and on GPT-2 / Llama score heads (last non-padding token) and a RoBERTa token head: HF\'s softmax', () => {
  const tmp = tempDir('predict-');
  try {
    for (const name of ['roberta-seqcls', 'gpt2-seqcls', 'llama-seqcls', 'roberta-tokcls']) {
      const cases = fixtureCases(`enc/${name}`);
      const T = cases.input_ids[0].length;
      const lens = cases.attention_mask.map((m: number[]) => m.reduce((a, x) => a + x, 0));
      const data = join(tmp, `${name}.jsonl`);
      writeFileSync(data, cases.input_ids.map((ids: number[], b: number) => JSON.stringify({ input_ids: ids.slice(0, lens[b]) })).join('\n') + '\n');
      const logits = Array.from(fixtureTensors('enc', name, 'cases.safetensors').get('logits')!.data);
      // Batches of 2: the shorter row is padded again by gptune with the config's pad_token_id.
      const preds = runPredict(opts({ model: fixturePath('enc', name), tokenizer: undefined, data, topK: 3, batchSize: 2 }));
      preds.forEach((p, b) => {
        if (name.endsWith('tokcls')) {
          // No tokenizer: each token is its own word; its score is the top softmax probability at that position.
          const want = Array.from({ length: lens[b] }, (_, t) => Math.max(...softmax(logits.slice((b * T + t) * 3, (b * T + t) * 3 + 3))));
          expectClose(`${name} row ${b}`, p.words!.map((w) => w.score), want, { atol: ATOL, rtol: 0 });
        } else {
          const byName = Object.fromEntries(p.labels!.map((l) => [l.label, l.score]));
          expectClose(`${name} row ${b}`, ['neg', 'neu', 'pos'].map((n) => byName[n]), softmax(logits.slice(b * 3, b * 3 + 3)), { atol: ATOL, rtol: 0 });
        }
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
