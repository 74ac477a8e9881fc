// `gptune train` with a classification head, end to end on the tiny HF fixtures (test/fixtures/enc): full
// and LoRA (PEFT SEQ_CLS / TOKEN_CLS) runs learn, save, and load back to the same logits; a fresh head on
// a masked-LM or causal-LM checkpoint; exact resume; labels checked by file:line; --class-weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/index.js';
import { loadTaskModel } from '../../src/models/load_task.js';
import { loadAdapter } from '../../src/lora/index.js';
import type { TaskModel } from '../../src/models/task_model.js';
import type { TrainBatch } from '../../src/train/trainer.js';
import { noGrad } from '../../src/tensor/tape.js';
import { readMetrics } from '../../src/train/trainer.js';
import { GptuneError } from '../../src/util/errors.js';
import { expectClose } from '../helpers/close.js';
import { fixturePath } from '../helpers/fixtures.js';
import { withConfig } from '../helpers/classifier_fixtures.js';
import type { PreparedTaskTraining } from '../../src/run/train_task.js';
import { openTaskModel } from '../../src/run/task_open.js';
import { classificationTrainBatch } from '../../src/data/classification_batches.js';
import { tempDir } from '../helpers/temp_dir.js';

const tmp = () => tempDir('cls-');
const LABELS = ['neg', 'neu', 'pos'];

/** Pre-tokenized rows whose class shows in their token ids (learnable in a few steps): [CLS]=2 ... [SEP]=3. */
function idsRows(dir: string, n: number, name = 'train.jsonl'): string {
  const lines = Array.from({ length: n }, (_, i) => {
    const y = i % 3, len = 3 + ((i * 7) % 6);
    const ids = [2, ...Array.from({ length: len }, (_, t) => 10 + 35 * y + ((i * 13 + t * 5) % 30)), 3];
    return JSON.stringify({ input_ids: ids, label: LABELS[y] });
  });
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function train(flags: Record<string, unknown>) {
  const { values } = run.resolveOptions(run.TRAIN_OPTIONS, { flags: { batchSize: 4, progress: false, seed: 7, ...flags } });
  const { summary, prepared } = await run.runTraining(values);
  assert.equal(prepared.kind, 'classification');
  return { summary, p: prepared as PreparedTaskTraining };
}

const losses = (out: string) => readMetrics(join(out, 'metrics.jsonl')).filter((m) => m.loss !== undefined).map((m) => m.loss);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Logits of the first eval batch, model in eval mode. */
function logitsOf(model: TaskModel, b: TrainBatch): Float32Array {
  model.eval();
  return noGrad(() => model.forward({ ids: b.inputIds, batch: b.batch, seqLen: b.seqLen, attentionMask: b.attentionMask, tokenTypeIds: b.tokenTypeIds }).data.slice());
}

function firstBatch(p: PreparedTaskTraining, rows = p.batches.rows): TrainBatch {
  return classificationTrainBatch(rows.slice(0, 6), p.batchOptions);
}

test('full fine-tuning of a BERT classifier: the loss falls, the saved dir loads back to the same logits', async () => {
  const dir = tmp(), out = join(dir, 'run');
  const { summary, p } = await train({ model: fixturePath('enc', 'bert-seqcls'), data: idsRows(dir, 24), out, method: 'full', lr: 3e-3, maxSteps: 24 });
  assert.equal(summary.steps, 24);
  assert.equal(p.problemType, 'single_label_classification');
  const l = losses(out);
  assert.ok(mean(l.slice(-4)) < 0.6 * mean(l.slice(0, 4)), `loss ${l.slice(0, 4)} ... ${l.slice(-4)}`);
  const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(saved.architectures, ['BertForSequenceClassification']);
  assert.deepEqual(saved.id2label, { 0: 'neg', 1: 'neu', 2: 'pos' });
  assert.equal(saved.problem_type, 'single_label_classification');
  const b = firstBatch(p);
  expectClose('reloaded logits', logitsOf(loadTaskModel(out).model, b), logitsOf(p.model, b), { atol: 0, rtol: 0 });
});

test('LoRA on RoBERTa (PEFT SEQ_CLS): the head trains in full, saved in modules_to_save; base + adapter give the same logits', async () => {
  const dir = tmp(), out = join(dir, 'run');
  const { p } = await train({ model: fixturePath('enc', 'roberta-seqcls'), data: idsRows(dir, 24), out, lr: 1e-2, maxSteps: 24, loraR: 4 });
  assert.equal(p.method, 'lora', 'a pretrained model on task data defaults to LoRA');
  const l = losses(out);
  assert.ok(mean(l.slice(-4)) < 0.8 * mean(l.slice(0, 4)), `loss ${l.slice(0, 4)} ... ${l.slice(-4)}`);
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(cfg.task_type, 'SEQ_CLS');
  assert.deepEqual(cfg.modules_to_save, ['classifier', 'score']);
  assert.deepEqual(cfg.target_modules, ['query', 'value'], 'PEFT\'s defaults for roberta, the head left out');
  const head = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(head.architectures, ['RobertaForSequenceClassification']);
  const base = loadTaskModel(fixturePath('enc', 'roberta-seqcls'));
  const before = logitsOf(base.model, firstBatch(p));
  loadAdapter(base.model, out);
  const b = firstBatch(p);
  expectClose('base + adapter logits', logitsOf(base.model, b), logitsOf(p.model, b), { atol: 1e-6 });
  assert.ok(Math.abs(before[0] - logitsOf(p.model, b)[0]) > 1e-3, 'training changed the logits');
});

test('token classification: a fresh head on a BERT masked-LM checkpoint, tags on first sub-tokens, saved and reloaded', async () => {
  const dir = tmp(), model = join(dir, 'bert-mlm'), out = join(dir, 'run');
  cpSync(fixturePath('enc', 'bert-mlm'), model, { recursive: true });
  // A WordPiece vocab of the tiny model's 128 ids (its checkpoint has none).
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'john', 'mary', 'went', 'to', 'paris', 'london', 'saw', 'the', 'dog', 'and', 'in', '##s'];
  writeFileSync(join(model, 'vocab.txt'), [...words, ...Array.from({ length: 128 - words.length }, (_, i) => `w${i}`)].join('\n') + '\n');
  const sents: [string[], string[]][] = [[['john', 'went', 'to', 'paris'], ['B-PER', 'O', 'O', 'B-LOC']], [['mary', 'saw', 'the', 'dogs'], ['B-PER', 'O', 'O', 'O']],
    [['the', 'dog', 'in', 'london'], ['O', 'O', 'O', 'B-LOC']], [['john', 'and', 'mary'], ['B-PER', 'O', 'B-PER']]];
  const data = join(dir, 'ner.jsonl');
  writeFileSync(data, Array.from({ length: 12 }, (_, i) => JSON.stringify({ tokens: sents[i % 4][0], tags: sents[i % 4][1] })).join('\n') + '\n');
  const { p } = await train({ model, data, out, task: 'token-cls', method: 'full', lr: 1e-2, maxSteps: 15 });
  assert.equal(p.model.architecture, 'BertForTokenClassification');
  assert.deepEqual(p.model.labels.id2label, ['B-LOC', 'B-PER', 'O'], 'sorted, as run_ner does');
  // "dogs" is dog + ##s: the tag sits on "dog", the continuation gets -100.
  const row = p.batches.rows[1];
  assert.deepEqual(row.inputIds, [2, 6, 11, 12, 13, 16, 3]);
  assert.deepEqual(row.tokenLabels, [-100, 1, 2, 2, 2, -100, -100]);
  const l = losses(out);
  assert.ok(mean(l.slice(-3)) < 0.5 * mean(l.slice(0, 3)), `loss ${l.slice(0, 3)} ... ${l.slice(-3)}`);
  const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(saved.architectures, ['BertForTokenClassification']);
  assert.ok(readFileSync(join(out, 'vocab.txt'), 'utf8').startsWith('[PAD]'), 'the tokenizer is saved beside the model');
  const b = firstBatch(p);
  expectClose('reloaded logits', logitsOf(loadTaskModel(out).model, b), logitsOf(p.model, b), { atol: 0, rtol: 0 });
});

test('GPT-2 with a score head: --task seq-cls on a causal LM, padding by EOS written into config.json, LoRA reloads', async () => {
  const dir = tmp(), out = join(dir, 'run');
  const { p } = await train({ model: fixturePath('gpt2-tiny'), task: 'seq-cls', data: idsRows(dir, 18), out, lr: 1e-2, maxSteps: 12, loraR: 4 });
  assert.equal(p.model.architecture, 'GPT2ForSequenceClassification');
  assert.equal(p.batchOptions.padId, 0, 'gpt2-tiny has no pad token: its EOS (0) pads, as HF users set it');
  const head = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(head.pad_token_id, 0);
  assert.deepEqual(head.architectures, ['GPT2ForSequenceClassification']);
  // openTaskModel (eval, predict) reads the head, its labels and pad_token_id from the adapter's config.json.
  const opened = openTaskModel(fixturePath('gpt2-tiny'), { adapter: out });
  assert.deepEqual(opened.labels.id2label, LABELS);
  assert.equal(opened.padId, 0);
  const b = firstBatch(p);
  expectClose('base + adapter logits', logitsOf(opened.model, b), logitsOf(p.model, b), { atol: 1e-6 });
});

test('exact resume: a run stopped by SIGINT after step 1 and one stopped at step 4 continue to the uninterrupted weights', async () => {
  const dir = tmp(), data = idsRows(dir, 24);
  const flags = (out: string, extra: Record<string, unknown> = {}) => ({ model: fixturePath('enc', 'bert-seqcls'), data, out, lr: 5e-3, maxSteps: 8, batchSize: 8, ...extra });
  const weights = (out: string, file: string) => readFileSync(join(out, file));
  // Full fine-tuning, linear schedule: SIGINT lands while step 1 waits for the event loop.
  const a = join(dir, 'a'), b = join(dir, 'b');
  await train(flags(a, { method: 'full' }));
  const { values } = run.resolveOptions(run.TRAIN_OPTIONS, { flags: { progress: false, seed: 7, ...flags(b, { method: 'full' }) } });
  const pending = run.runTraining(values);
  process.emit('SIGINT');
  const stopped = await pending;
  assert.equal(stopped.summary.steps, 1);
  assert.equal(stopped.summary.interrupted, true);
  await train(flags(b, { method: 'full', resume: true }));
  assert.ok(weights(b, 'model.safetensors').equals(weights(a, 'model.safetensors')), 'full: same final weights');
  assert.deepEqual(losses(b), losses(a));
  // LoRA with dropout, constant schedule: 4 steps cross an epoch (3 batches), then --resume to 8.
  const c = join(dir, 'c'), d = join(dir, 'd');
  await train(flags(c, { schedule: 'constant', loraR: 4 }));
  await train(flags(d, { schedule: 'constant', loraR: 4, maxSteps: 4 }));
  await train(flags(d, { schedule: 'constant', loraR: 4, resume: true }));
  assert.ok(weights(d, 'adapter_model.safetensors').equals(weights(c, 'adapter_model.safetensors')), 'LoRA: same final adapter (head included)');
  assert.deepEqual(losses(d), losses(c));
});

test('bad labels name the file and line: an unknown class in --val-data, a list label for a single-label head', async () => {
  const dir = tmp();
  const val = join(dir, 'val.jsonl');
  writeFileSync(val, JSON.stringify({ input_ids: [2, 5, 3], label: 'pos' }) + '\n' + JSON.stringify({ input_ids: [2, 6, 3], label: 'meh' }) + '\n');
  await assert.rejects(train({ model: fixturePath('enc', 'bert-seqcls'), data: idsRows(dir, 6), valData: val, out: join(dir, 'r1'), maxSteps: 1 }),
    (e: unknown) => e instanceof GptuneError && e.message.startsWith(`${val}:2: 'label': unknown label "meh"`));
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, JSON.stringify({ input_ids: [2, 5, 3], label: 'pos' }) + '\n' + JSON.stringify({ input_ids: [2, 6, 3], label: ['pos', 'neg'] }) + '\n');
  await assert.rejects(train({ model: fixturePath('enc', 'bert-seqcls'), data: bad, out: join(dir, 'r2'), maxSteps: 1 }),
    (e: unknown) => e instanceof GptuneError && e.message.startsWith(`${bad}:2: 'label':`));
  const far = join(dir, 'far.jsonl');
  writeFileSync(far, JSON.stringify({ input_ids: [2, 500, 3], label: 'pos' }) + '\n');
  await assert.rejects(train({ model: fixturePath('enc', 'bert-seqcls'), data: far, out: join(dir, 'r3'), maxSteps: 1 }), (e: unknown) => e instanceof GptuneError && e.message.startsWith(`${far}:1: 'input_ids': token id 500 is outside the model's vocabulary (0..127)`));
});

test('--class-weights balanced weighs the cross-entropy by n / (classes x count), recorded in train_config.json', async () => {
  const dir = tmp(), data = join(dir, 'skewed.jsonl');
  // 6 neg, 2 neu, 1 pos.
  const ys = [0, 0, 0, 1, 0, 0, 2, 1, 0];
  writeFileSync(data, ys.map((y, i) => JSON.stringify({ input_ids: [2, 10 + 35 * y + i, 3], label: LABELS[y] })).join('\n') + '\n');
  const out = join(dir, 'run');
  const { p } = await train({ model: fixturePath('enc', 'bert-seqcls'), data, out, maxSteps: 2, classWeights: 'balanced' });
  expectClose('weights', p.batchOptions.classWeights!, [9 / (3 * 6), 9 / (3 * 2), 9 / (3 * 1)], { atol: 1e-6 });
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'train_config.json'), 'utf8')).classWeights.map((x: number) => +x.toFixed(4)), [0.5, 1.5, 3]);
  // The batch's denominator is its weighted target count (torch's weighted mean over the step).
  const b = firstBatch(p);
  assert.ok(Math.abs(b.targetTokens - Array.from(b.labels).reduce((s, y) => s + p.batchOptions.classWeights![y], 0)) < 1e-6);
  await assert.rejects(train({ model: fixturePath('enc', 'bert-seqcls'), data, out: join(dir, 'r2'), maxSteps: 1, classWeights: '1,2' }), /--class-weights: 2 weights for 3 classes/);
});

test('LoRA on a masked-LM checkpoint: the fresh pooler is saved with the adapter, so eval/predict reopen the same classifier', async () => {
  const dir = tmp(), out = join(dir, 'run');
  const { p } = await train({ model: fixturePath('enc', 'bert-mlm'), task: 'seq-cls', data: idsRows(dir, 12), out, maxSteps: 3, loraR: 4 });
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.deepEqual(cfg.modules_to_save, ['classifier', 'score', 'bert.pooler.dense']);
  const opened = openTaskModel(fixturePath('enc', 'bert-mlm'), { adapter: out });
  assert.deepEqual(opened.newlyInitialized, []);
  const b = firstBatch(p);
  expectClose('base + adapter logits', logitsOf(opened.model, b), logitsOf(p.model, b), { atol: 1e-6 });
});

test('head dropout replays with the seed: two runs give the same losses, and a resumed run the uninterrupted one', async () => {
  const dir = tmp(), data = idsRows(dir, 24);
  const models = {
    bert: withConfig(fixturePath('enc', 'bert-seqcls'), (c) => { c.hidden_dropout_prob = 0.1; c.classifier_dropout = 0.5; }),
    distilbert: withConfig(fixturePath('enc', 'distilbert-seqcls'), (c) => { c.dropout = 0.1; c.seq_classif_dropout = 0.5; }),
  };
  for (const [name, model] of Object.entries(models)) {
    const flags = (out: string, extra: Record<string, unknown> = {}) => ({ model, data, out: join(dir, `${name}-${out}`), method: 'full', lr: 5e-3, maxSteps: 4, schedule: 'constant', ...extra });
    await train(flags('a'));
    await train(flags('b'));
    await train(flags('c', { maxSteps: 2 }));
    await train(flags('c', { resume: true }));
    const [a, b, c] = ['a', 'b', 'c'].map((r) => losses(join(dir, `${name}-${r}`)));
    assert.equal(a.length, 4);
    assert.deepEqual(b, a, `${name}: same seed, same losses`);
    assert.deepEqual(c, a, `${name}: resumed at step 2, same losses`);
    const weights = (r: string) => readFileSync(join(dir, `${name}-${r}`, 'model.safetensors'));
    assert.ok(weights('c').equals(weights('a')), `${name}: resumed run ends at the same weights`);
  }
  // The head's dropout is live: another seed gives other losses.
  await train({ model: models.bert, data, out: join(dir, 'seed8'), method: 'full', lr: 5e-3, maxSteps: 4, seed: 8 });
  assert.notDeepEqual(losses(join(dir, 'seed8')), losses(join(dir, 'bert-a')));
});

test('--gradient-checkpointing on a classification run: the same weights as without it (dropout on)', async () => {
  const dir = tmp(), data = idsRows(dir, 12);
  const model = withConfig(fixturePath('enc', 'distilbert-seqcls'), (c) => { c.dropout = 0.1; c.seq_classif_dropout = 0.5; });
  const weights = (out: string) => readFileSync(join(out, 'model.safetensors'));
  for (const gradientCheckpointing of [false, true]) {
    await train({ model, data, out: join(dir, String(gradientCheckpointing)), method: 'full', lr: 5e-3, maxSteps: 2, gradientCheckpointing });
  }
  const cfg = JSON.parse(readFileSync(join(dir, 'true', 'train_config.json'), 'utf8'));
  assert.equal(cfg.gradientCheckpointing, true);
  assert.ok(weights(join(dir, 'true')).equals(weights(join(dir, 'false'))));
});
