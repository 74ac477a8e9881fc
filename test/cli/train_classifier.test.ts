// `gptune train` on labelled CSV rows, as a user types it: the classifier route is taken from the data,
// text is tokenized by the model's WordPiece vocab, validation runs during training, the result is saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');

function gptune(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('gptune train --model <bert> --data labelled.csv: a classifier with eval during training, saved with its labels and vocab', () => {
  const dir = tempDir('cls-cli-'), model = join(dir, 'bert'), out = join(dir, 'run');
  cpSync(fixturePath('enc', 'bert-mlm'), model, { recursive: true });
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'great', 'good', 'fine', 'bad', 'awful', 'movie', 'food', 'very', 'not', 'the'];
  writeFileSync(join(model, 'vocab.txt'), [...words, ...Array.from({ length: 128 - words.length }, (_, i) => `w${i}`)].join('\n') + '\n');
  const texts: [string, string][] = [['great movie', 'positive'], ['very good food', 'positive'], ['bad movie', 'negative'], ['"awful, the food"', 'negative'], ['not bad', 'positive'], ['"not good, awful"', 'negative']];
  writeFileSync(join(dir, 'reviews.csv'), 'text,label\n' + Array.from({ length: 16 }, (_, i) => texts[i % 6].join(',')).join('\n') + '\n');
  const r = gptune('train', '--model', model, '--data', join(dir, 'reviews.csv'), '--out', out, '--method', 'full', '--lr', '1e-2',
    '--max-steps', '6', '--batch-size', '4', '--val-fraction', '0.25', '--eval-every', '3', '--no-progress');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /BertForSequenceClassification \(new head\): 2 labels \(negative, positive\), single_label_classification/);
  assert.match(r.out, /data: 12 train \/ 4 val rows/);
  assert.match(r.out, /saved the model to /);
  assert.doesNotMatch(r.out, /perplexity/, 'no perplexity for a classifier');
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(metrics.some((m) => m.step === 3 && typeof m.eval_loss === 'number'), 'eval during training');
  assert.ok(existsSync(join(out, 'best', 'model.safetensors')), 'the best eval checkpoint is kept');
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.id2label, { 0: 'negative', 1: 'positive' });
  assert.ok(existsSync(join(out, 'vocab.txt')));
});

test('gptune train --help lists --task and --class-weights', () => {
  const r = gptune('train', '--help');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /--task <mlm\|seq-cls\|token-cls>/);
  assert.match(r.out, /--class-weights <balanced\|w0,w1,...>/);
});
