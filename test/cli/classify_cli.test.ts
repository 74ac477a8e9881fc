// gptune eval / predict on a classifier as scripts call them: --json parsed (one object; JSONL per input),
// the readable table, --text given several ways, and a bad label's file:line on stderr with exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { SEQCLS, TOKENIZER, evalData, golden, iobTokenClassifier } from '../helpers/classifier_fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');
function gptune(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('eval --json on a classifier: loss, accuracy, macroF1, perClass, confusionMatrix as keys; the table without it', () => {
  const g = golden('seqcls');
  const r = gptune('eval', '--model', SEQCLS, '--tokenizer', TOKENIZER, '--data', evalData('seqcls'), '--json');
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.ok(Math.abs(out.loss - g.loss) < 1e-4);
  assert.equal(out.accuracy, g.accuracy);
  assert.deepEqual(out.confusionMatrix, g.confusion);
  assert.deepEqual(Object.keys(out.perClass), ['neg', 'neu', 'pos']);
  assert.equal(typeof out.macroF1, 'number');
  const text = gptune('eval', '--model', SEQCLS, '--tokenizer', TOKENIZER, '--data', evalData('seqcls'));
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^loss 2\.667\d {2}accuracy 58\.3% {2}macro-F1 0\.246 {2}over 12 rows/);
  assert.match(text.out, /confusion matrix \(rows: gold, columns: predicted\)\n {5}neg {2}neu {2}pos\nneg {4}0 {4}1 {4}0\nneu {4}1 {4}7 {4}0\npos {4}0 {4}3 {4}0/);
});

test('predict --json: one JSON object per input; --text takes several texts, repeated or after one flag', () => {
  const a = gptune('predict', '--model', SEQCLS, '--tokenizer', TOKENIZER, '--text', 'w76 w64', 'w62 w16', '--json', '--top-k', '2');
  const b = gptune('predict', '--model', SEQCLS, '--tokenizer', TOKENIZER, '--text', 'w76 w64', '--text', 'w62 w16', '--json', '--top-k', '2');
  assert.equal(a.code, 0, a.err);
  const lines = a.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines.map((p) => p.text), ['w76 w64', 'w62 w16']);
  assert.equal(lines[0].labels.length, 2);
  assert.equal(lines[0].label, lines[0].labels[0].label);
  assert.equal(b.out, a.out);
  const plain = gptune('predict', '--model', SEQCLS, '--tokenizer', TOKENIZER, '--text', 'w76 w64');
  assert.match(plain.out, /^(neg|neu|pos) 0\.\d{3}\tw76 w64\n$/);
});

test('predict on a token classifier prints word/TAG; JSONL has words and entities', () => {
  const dir = iobTokenClassifier();
  try {
    const r = gptune('predict', '--model', dir, '--tokenizer', TOKENIZER, '--text', 'w72 w21x104 w62 w89');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^w72\/(O|B-PER|I-PER) w21x104\/(O|B-PER|I-PER) w62\/\S+ w89\/\S+\n$/);
    const j = JSON.parse(gptune('predict', '--model', dir, '--tokenizer', TOKENIZER, '--data', evalData('tokcls'), '--json').out.split('\n')[0]);
    assert.ok(Array.isArray(j.words) && Array.isArray(j.entities));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eval with an unknown label: exit 1, file:line on stderr', () => {
  const tmp = tempDir('clscli-');
  try {
    const data = join(tmp, 'bad.jsonl');
    writeFileSync(data, '{"text": "w5", "label": "neg"}\n{"text": "w6", "label": "Pos"}\n');
    const r = gptune('eval', '--model', SEQCLS, '--tokenizer', TOKENIZER, '--data', data);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: 'label': unknown label "Pos"`));
    const causal = gptune('predict', '--model', fixturePath('gpt2-tiny'), '--text', 'hi');
    assert.equal(causal.code, 2);
    assert.match(causal.err, /GPT2LMHeadModel is a causal language model with no classification head: fine-tune one with gptune train/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
