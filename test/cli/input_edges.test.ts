// Input and output edges at the command line: a BOM'd task file trains, an over-long eval prompt is
// cut instead of aborting the evaluation, and NaN weights are reported with a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { loadSafetensors, saveSafetensors } from '../../src/formats/safetensors.js';
import { tempDir } from '../helpers/temp_dir.js';

const ROOT = join(fixturePath(), '..', '..');
const BIN = join(ROOT, 'bin', 'gptune.js');
const BASE = join(ROOT, 'assets', 'base-model');
const tmp = () => tempDir('edges-');

function gptune(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('train on task rows whose file starts with a UTF-8 BOM', () => {
  const dir = tmp();
  const rows = readFileSync(join(ROOT, 'data', 'support', 'train.jsonl'), 'utf8').split('\n').slice(0, 8).join('\n') + '\n';
  writeFileSync(join(dir, 'bom.jsonl'), '\ufeff' + rows);
  const r = gptune('train', '--model', BASE, '--data', join(dir, 'bom.jsonl'), '--out', join(dir, 'run'), '--max-steps', '1', '--batch-size', '2', '--no-progress');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /data: 8 examples/);
  assert.match(r.out, /lora/); // detected as task rows (LoRA by default), not text
});

test('eval --task cuts a prompt longer than the context and counts it, instead of aborting', () => {
  const dir = tmp();
  const long = { prompt: 'Customer: ' + 'my lamp is broken and '.repeat(200) + 'how do I reset it?\nAgent:', completion: ' Hold the power button.' };
  const short = { prompt: 'Customer: how do I reset my lamp?\nAgent:', completion: ' Hold the power button.' };
  writeFileSync(join(dir, 'task.jsonl'), [long, short].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const r = gptune('eval', '--model', BASE, '--data', join(dir, 'task.jsonl'), '--task', '--max-new-tokens', '4', '--json');
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.equal(out.task.n, 2);
  assert.equal(out.task.truncated, 1);
});

test('NaN in the weights: generate and eval say so, naming the weight, and exit non-zero', () => {
  const dir = tmp();
  const model = join(dir, 'nan-model');
  cpSync(fixturePath('gpt2-tiny'), model, { recursive: true, filter: (src) => !/after|cases|grads|lora/.test(src.slice(fixturePath('gpt2-tiny').length)) || src === fixturePath('gpt2-tiny') });
  const { tensors } = loadSafetensors(join(model, 'model.safetensors'));
  const t = tensors.get('transformer.h.0.mlp.c_fc.weight')!;
  (t.data as Float32Array)[3] = NaN;
  saveSafetensors(join(model, 'model.safetensors'), [...tensors].map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, data: v.data }] as [string, typeof v]));
  const g = gptune('generate', '--model', model, '--prompt-ids', '1,2,3', '--max-new-tokens', '4', '--json');
  assert.notEqual(g.code, 0);
  assert.match(g.err, /logits are not finite: weight 'transformer\.h\.0\.mlp\.c_fc\.weight' holds NaN/);
  writeFileSync(join(dir, 'ids.jsonl'), JSON.stringify({ input_ids: [1, 2, 3, 4, 5] }) + '\n');
  const e = gptune('eval', '--model', model, '--data', join(dir, 'ids.jsonl'), '--json');
  assert.notEqual(e.code, 0);
  assert.match(e.err, /losses are not finite: weight 'transformer\.h\.0\.mlp\.c_fc\.weight' holds NaN/);
});
