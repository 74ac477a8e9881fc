// Masked-LM training through `gptune train`: the batch loss equals HF's on the bert-mlm fixture, --init
// roberta on a byte-level BPE tokenizer saves a model dir that loads back (and takes a classifier head),
// the loss falls on a small corpus, resume is exact, and continued pre-training with LoRA saves a PEFT adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/index.js';
import { maskedLMBatchLoss } from '../../src/run/train_mlm.js';
import { loadTaskModel } from '../../src/models/load_task.js';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { noGrad } from '../../src/tensor/tape.js';
import { readMetrics } from '../../src/train/trainer.js';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { taskFixtureInput } from '../models/task_fixture_runner.js';
import { tempDir } from '../helpers/temp_dir.js';

const root = process.cwd();
const tmp = () => tempDir('mlm-');

/** A small learnable English corpus: sentences from a tiny grammar, in two documents. */
function corpus(dir: string): string {
  const who = ['the captain', 'the whale', 'a sailor', 'the crew', 'my friend'], did = ['saw', 'followed', 'feared', 'found', 'left'];
  const what = ['the ship', 'the sea', 'the harbour', 'a boat', 'the island'], when = ['at dawn', 'in the night', 'before the storm', 'after dinner'];
  let s = 1;
  const pick = <T>(xs: T[]) => xs[(s = (s * 1103515245 + 12345) % 2147483648) % xs.length];
  const doc = () => Array.from({ length: 120 }, () => `${pick(who)} ${pick(did)} ${pick(what)} ${pick(when)}.`).join(' ');
  const data = join(dir, 'text');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'a.txt'), doc());
  writeFileSync(join(data, 'b.txt'), doc());
  return data;
}

const options = (flags: Record<string, unknown>) => run.resolveOptions(run.TRAIN_OPTIONS, { flags: { progress: false, ...flags } }).values;

test('masked-LM batch loss of the bert-mlm fixture equals BertForMaskedLM\'s', () => {
  const cases = fixtureCases('enc/bert-mlm');
  const { input, labels } = taskFixtureInput(cases);
  const model = loadTaskModel(fixturePath('enc', 'bert-mlm')).model.eval();
  const n = labels.filter((y) => y !== -100).length;
  const loss = noGrad(() => maskedLMBatchLoss(model)({ inputIds: input.ids, labels, batch: input.batch, seqLen: input.seqLen, positions: null, segments: null,
    targetTokens: n, attentionMask: input.attentionMask, tokenTypeIds: input.tokenTypeIds }, null, n).item());
  assert.ok(Math.abs(loss - cases.loss) < 2e-5, `loss ${loss} vs ${cases.loss}`);
});

test('--init roberta on the base model\'s BPE tokenizer: the loss falls, the dir loads back (and takes a classifier head)', async () => {
  const dir = tmp();
  const data = corpus(dir), out = join(dir, 'enc');
  const { summary, prepared } = await run.runTraining(options({ init: 'roberta', tokenizer: join(root, 'assets', 'base-model'), data, out, seqLen: 32,
    nLayer: 1, nEmbd: 64, nHead: 4, maxSteps: 30, batchSize: 8, lr: 3e-3, valFraction: 0.1, evalEvery: 20, cacheDir: join(dir, 'cache') }));
  assert.equal(summary.steps, 30);
  const rows = readMetrics(join(out, 'metrics.jsonl')).filter((r) => r.loss !== undefined);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(rows.slice(0, 5).map((r) => r.loss)), last = mean(rows.slice(-5).map((r) => r.loss));
  assert.ok(last < first - 1.5, `loss ${first} -> ${last}`);
  assert.ok(summary.finalEvalLoss! < Math.log(4100) - 1, `eval loss ${summary.finalEvalLoss}`);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['RobertaForMaskedLM']);
  assert.equal(config.pad_token_id, 1);
  assert.equal(config.max_position_embeddings, 32 + 2);
  const tok = loadTokenizerDir(out)!;
  assert.deepEqual(tok.tokenizer.encode('the whale <mask>').slice(0, 1), [0]);
  assert.equal(tok.tokenizer.encode('the whale <mask>').at(-2), 4099, '<mask> is the last id');
  // Loads back with the same weights: the same eval loss.
  const back = loadTaskModel(out).model;
  assert.equal(back.architecture, 'RobertaForMaskedLM');
  const p = prepared as run.PreparedMaskedLM;
  const trained = new Map(p.model.namedParameters());
  for (const [name, t] of back.namedParameters()) assert.deepEqual(t.data, trained.get(name)!.data, name);
  const cls = loadTaskModel(out, { task: 'seq_cls', id2label: ['ham', 'spam'] });
  assert.deepEqual(cls.newlyInitialized.sort(), ['classifier.dense.bias', 'classifier.dense.weight', 'classifier.out_proj.bias', 'classifier.out_proj.weight']);
});

test('masked-LM resume is exact (dropout, masks, data order), and whole-word masking trains', async () => {
  const dir = tmp();
  const data = corpus(dir);
  const common = { init: 'bert', tokenizer: join(root, 'test', 'fixtures', 'tokenizers', 'bert-base-uncased'), data, seqLen: 24, nLayer: 1, nEmbd: 32, nHead: 2,
    batchSize: 4, lr: 1e-3, schedule: 'constant', wholeWordMask: true, cacheDir: join(dir, 'cache') };
  await run.runTraining(options({ ...common, out: join(dir, 'a'), maxSteps: 6 }));
  await run.runTraining(options({ ...common, out: join(dir, 'b'), maxSteps: 3 }));
  const { summary } = await run.runTraining(options({ ...common, out: join(dir, 'b'), maxSteps: 6, resume: true }));
  assert.equal(summary.steps, 6);
  assert.ok(readFileSync(join(dir, 'a', 'model.safetensors')).equals(readFileSync(join(dir, 'b', 'model.safetensors'))), 'resumed weights differ');
  const la = readMetrics(join(dir, 'a', 'metrics.jsonl')).map((r) => r.loss), lb = readMetrics(join(dir, 'b', 'metrics.jsonl')).map((r) => r.loss);
  assert.deepEqual(lb, la);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'a', 'config.json'), 'utf8')).architectures, ['BertForMaskedLM']);
});

test('continued pre-training of a masked LM with LoRA saves a PEFT adapter (task_type null) with the tokenizer', async () => {
  const dir = tmp();
  const data = corpus(dir);
  const base = join(dir, 'base');
  await run.runTraining(options({ init: 'roberta', tokenizer: join(root, 'assets', 'base-model'), data, out: base, seqLen: 32, nLayer: 1, nEmbd: 32, nHead: 2, maxSteps: 1, cacheDir: join(dir, 'cache') }));
  const out = join(dir, 'lora');
  const { prepared } = await run.runTraining(options({ model: base, data, out, method: 'lora', loraR: 2, maxSteps: 2, seqLen: 32, cacheDir: join(dir, 'cache') }));
  assert.equal((prepared as run.PreparedMaskedLM).kind, 'masked_lm', 'a *ForMaskedLM dir on raw text trains as a masked LM');
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(cfg.task_type, null);
  assert.deepEqual([...cfg.target_modules].sort(), ['query', 'value']);
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')) && existsSync(join(out, 'tokenizer.json')));
});

test('routing: a masked-LM dir trains as a masked LM on raw text, not on labelled rows; --task mlm forces it', () => {
  const dir = tmp();
  const text = join(dir, 'a.txt'), rows = join(dir, 'rows.jsonl');
  writeFileSync(text, 'some text');
  writeFileSync(rows, '{"text": "good", "label": "pos"}\n');
  const mlm = fixturePath('enc', 'bert-mlm'), cls = fixturePath('enc', 'bert-seqcls');
  const is = (flags: Record<string, unknown>) => run.isMaskedLMRun(options({ out: join(dir, 'o'), ...flags }));
  assert.equal(is({ model: mlm, data: text }), true);
  assert.equal(is({ model: mlm, data: rows }), false);
  assert.equal(is({ model: cls, data: text }), false);
  assert.equal(is({ model: cls, data: text, task: 'mlm' }), true);
  assert.equal(is({ model: join(root, 'assets', 'base-model'), data: text }), false);
  assert.equal(is({ init: 'roberta', data: text }), true);
});
