// The gptune command as scripts call it: JSON outputs, exit codes, and one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, writeFileSync, readFileSync, existsSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath, fixtureCases } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');
const tmp = () => tempDir('cli-');

function gptune(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('generate --prompt-ids --json: greedy ids equal the PyTorch fixture, text null without a tokenizer', () => {
  const cases = fixtureCases('gpt2-tiny');
  const r = gptune('generate', '--model', fixturePath('gpt2-tiny'), '--prompt-ids', cases.generate.prompt_ids[0].join(','), '--max-new-tokens', '20', '--temperature', '0', '--json');
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.deepEqual(out.ids, cases.generate.new_tokens);
  assert.equal(out.text, null);
});

test('tokenize --tokenizer gpt2 --json gives GPT-2 ids', () => {
  const r = gptune('tokenize', '--tokenizer', 'gpt2', '--text', 'Hello world', '--json');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { ids: [15496, 995] });
});

test('eval on {"input_ids"} rows needs no tokenizer and matches the fixture loss', () => {
  const cases = fixtureCases('gpt2-tiny');
  const dir = tmp();
  const data = join(dir, 'ids.jsonl');
  writeFileSync(data, cases.forward.input_ids.map((ids: number[]) => JSON.stringify({ input_ids: ids })).join('\n') + '\n');
  const r = gptune('eval', '--model', fixturePath('gpt2-tiny'), '--data', data, '--json');
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.equal(out.tokens, 30);
  assert.ok(Math.abs(out.loss - cases.loss.value) < 1e-5, `loss ${out.loss} vs ${cases.loss.value}`);
  assert.ok(Math.abs(out.perplexity - Math.exp(cases.loss.value)) < 1e-3);
});

test('train (full, from a model dir), then generate from the output dir', () => {
  const dir = tmp();
  const data = join(dir, 'ids.jsonl');
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 12 }, (_, t) => (i * 31 + t * 7) % 512) })).join('\n') + '\n');
  const out = join(dir, 'run');
  const r = gptune('train', '--model', fixturePath('gpt2-tiny'), '--data', data, '--out', out, '--max-steps', '3', '--batch-size', '4', '--lr', '1e-3', '--no-progress');
  assert.equal(r.code, 0, r.err);
  for (const f of ['config.json', 'model.safetensors', 'metrics.jsonl', 'loss_chart.svg', 'train_config.json', 'summary.json']) assert.ok(existsSync(join(out, f)), `${f} missing`);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3]);
  for (const m of metrics) for (const k of ['loss', 'lr', 'tokens_per_sec', 'elapsed_s']) assert.equal(typeof m[k], 'number', `metrics.${k}`);
  const g = gptune('generate', '--model', out, '--prompt-ids', '1,2,3', '--max-new-tokens', '4', '--json');
  assert.equal(g.code, 0, g.err);
  assert.equal(JSON.parse(g.out).ids.length, 4);
  // A second run into the same dir is refused without --resume / --overwrite.
  const again = gptune('train', '--model', fixturePath('gpt2-tiny'), '--data', data, '--out', out, '--max-steps', '3', '--no-progress');
  assert.notEqual(again.code, 0);
  assert.match(again.err, /not empty.*--overwrite/);
});

test('bad input: one line naming the problem, non-zero exit, stack only with --verbose', () => {
  const dir = tmp();
  const cases: Array<[string[], RegExp]> = [
    [['generate', '--model', join(dir, 'nope'), '--prompt-ids', '1'], /no such model directory/],
    [['generate', '--model', fixturePath('gpt2-tiny'), '--prompt-ids', '1,x'], /'x' is not a token id/],
    [['generate', '--model', fixturePath('gpt2-tiny'), '--prompt-ids', '1', '--temperature', '-1'], /--temperature must be a number/],
    [['generate', '--model', fixturePath('gpt2-tiny'), '--prompt-ids', '1', '--top-p', '1.5'], /--top-p must be a number in \(0, 1\]/],
    [['generate', '--model', fixturePath('gpt2-tiny'), '--prompt-ids', Array(130).fill(1).join(',')], /prompt has 130 tokens, the model's context is 128/],
    [['generate', '--model', fixturePath('gpt2-tiny'), '--prompt-ids', '600'], /prompt id 600 is outside the vocabulary/],
    [['generate', '--model', fixturePath('gpt2-tiny'), '--prompt', 'hi'], /has no tokenizer files/],
  ];
  for (const [args, re] of cases) {
    const r = gptune(...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, re);
    assert.ok(!/\n\s+at /.test(r.err), `stack printed for ${args.join(' ')}`);
  }
  // Bad checkpoints: unknown model_type, wrong shape, truncated file.
  const bad = join(dir, 'bad');
  cpSync(fixturePath('gpt2-tiny'), bad, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8'));
  writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, model_type: 'bert' }));
  assert.match(gptune('generate', '--model', bad, '--prompt-ids', '1').err, /model_type 'bert' is not supported/);
  writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, n_embd: 32 }));
  assert.match(gptune('generate', '--model', bad, '--prompt-ids', '1').err, /tensor '.*' has shape \[.*\], the config expects \[.*\]/);
  writeFileSync(join(bad, 'config.json'), JSON.stringify(cfg));
  truncateSync(join(bad, 'model.safetensors'), statSync(join(bad, 'model.safetensors')).size - 100);
  const t = gptune('generate', '--model', bad, '--prompt-ids', '1', '--verbose');
  assert.notEqual(t.code, 0);
  assert.match(t.err, /model\.safetensors/);
  assert.match(t.err, /\n\s+at /, '--verbose prints the stack');
});

test('merge: the PEFT fixture adapter folded into its base equals the PyTorch-merged weights', async () => {
  const { loadSafetensors } = await import('../../src/formats/safetensors.js');
  const out = join(tmp(), 'merged');
  const r = gptune('merge', '--model', fixturePath('gpt2-tiny'), '--adapter', fixturePath('gpt2-tiny', 'lora'), '--out', out);
  assert.equal(r.code, 0, r.err);
  const got = loadSafetensors(join(out, 'model.safetensors')).tensors;
  const want = loadSafetensors(fixturePath('gpt2-tiny', 'lora', 'merged.safetensors')).tensors;
  assert.equal(got.size, want.size);
  for (const [k, t] of want) {
    const g = got.get(k)!.data as Float32Array, w = t.data as Float32Array;
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(g[i] - w[i]) <= 1e-6, `${k}[${i}]`);
  }
});

test('eval --task on the shipped model and support data; tokenizer train writes a loadable tokenizer.json', () => {
  const root = join(fixturePath(), '..', '..');
  const r = gptune('eval', '--model', join(root, 'assets', 'base-model'), '--data', join(root, 'data', 'support', 'test.jsonl'), '--task', '--limit', '3', '--max-new-tokens', '8', '--json');
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.ok(out.loss > 0 && Number.isFinite(out.perplexity));
  assert.equal(out.task.n, 3);
  for (const k of ['exactMatch', 'containsAnswer', 'rougeL']) assert.ok(out.task[k] >= 0 && out.task[k] <= 1, k);
  const dir = tmp();
  writeFileSync(join(dir, 'a.txt'), 'the cat sat on the mat. the cat ate the rat. '.repeat(50));
  const t = gptune('tokenizer', 'train', '--data', join(dir, 'a.txt'), '--vocab-size', '300', '--out', join(dir, 'tok'));
  assert.equal(t.code, 0, t.err);
  const ids = gptune('tokenize', '--tokenizer', join(dir, 'tok'), '--text', 'the cat sat', '--json');
  assert.equal(ids.code, 0, ids.err);
  assert.ok(JSON.parse(ids.out).ids.length < 'the cat sat'.length, 'merges shorten the text');
});
