// --out never loses what is there: refused when it would (an input, a file, a folder of other
// things), --overwrite replaces only the command's own files, and writes leave no temporary folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');
const tmp = () => tempDir('out-');

function gptune(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, GPTUNE_VERBOSE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const merge = (adapter: string, out: string, ...more: string[]) => gptune(['merge', '--model', fixturePath('gpt2-tiny'), '--adapter', adapter, '--out', out, ...more]);

function idsData(dir: string): string {
  const data = join(dir, 'ids.jsonl');
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 12 }, (_, t) => (i * 31 + t * 7) % 512) })).join('\n') + '\n');
  return data;
}

test('merge --out equal to --adapter is refused and the adapter folder is untouched', () => {
  const dir = tmp();
  const run = join(dir, 'run');
  cpSync(fixturePath('gpt2-tiny', 'lora'), run, { recursive: true });
  writeFileSync(join(run, 'metrics.jsonl'), '{"step":1}\n');
  const before = readdirSync(run).sort();
  const r = merge(run, join(run, '.') + '/');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /is the --adapter folder/);
  assert.deepEqual(readdirSync(run).sort(), before);
});

test('merge into a folder of other things is refused, naming them; --overwrite keeps them', () => {
  const dir = tmp();
  const runs = join(dir, 'runs');
  mkdirSync(join(runs, 'support'), { recursive: true });
  writeFileSync(join(runs, 'support', 'adapter_model.safetensors'), 'x');
  writeFileSync(join(runs, 'notes.txt'), 'mine');
  const r = merge(fixturePath('gpt2-tiny', 'lora'), runs);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /runs is not empty.*(support|notes\.txt).*--overwrite/);
  assert.ok(existsSync(join(runs, 'support', 'adapter_model.safetensors')) && !existsSync(join(runs, 'model.safetensors')));
  const o = merge(fixturePath('gpt2-tiny', 'lora'), runs, '--overwrite');
  assert.equal(o.code, 0, o.err);
  assert.equal(readFileSync(join(runs, 'notes.txt'), 'utf8'), 'mine');
  assert.ok(existsSync(join(runs, 'support', 'adapter_model.safetensors')));
  assert.deepEqual(readdirSync(runs).sort(), ['config.json', 'model.safetensors', 'notes.txt', 'support']);
});

test('merge --out an existing file is refused and the file kept', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'notes.txt'), 'keep me');
  const r = merge(fixturePath('gpt2-tiny', 'lora'), join(dir, 'notes.txt'));
  assert.notEqual(r.code, 0);
  assert.match(r.err, /notes\.txt is an existing file/);
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'keep me');
});

test('merge --out with a trailing slash, and --out ., write the model and leave no temporary folder', () => {
  const dir = tmp();
  const r = merge(fixturePath('gpt2-tiny', 'lora'), join(dir, 'merged') + '/');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(readdirSync(join(dir, 'merged')).sort(), ['config.json', 'model.safetensors']);
  assert.deepEqual(readdirSync(dir), ['merged']);
  const here = join(dir, 'here');
  mkdirSync(here);
  const d = gptune(['merge', '--model', fixturePath('gpt2-tiny'), '--adapter', fixturePath('gpt2-tiny', 'lora'), '--out', '.'], here);
  assert.equal(d.code, 0, d.err);
  assert.deepEqual(readdirSync(here).sort(), ['config.json', 'model.safetensors']);
  assert.deepEqual(readdirSync(dir).sort(), ['here', 'merged']);
  // Again with --overwrite: replaced in place, still nothing else.
  const again = gptune(['merge', '--model', fixturePath('gpt2-tiny'), '--adapter', fixturePath('gpt2-tiny', 'lora'), '--out', '.', '--overwrite'], here);
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(readdirSync(here).sort(), ['config.json', 'model.safetensors']);
});

test('train --out equal to --model is refused and the base weights are untouched', () => {
  const dir = tmp();
  const base = join(dir, 'base');
  cpSync(fixturePath('gpt2-tiny'), base, { recursive: true });
  const weights = readFileSync(join(base, 'model.safetensors'));
  const r = gptune(['train', '--model', base, '--data', idsData(dir), '--out', base, '--max-steps', '1', '--overwrite', '--no-progress']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /is the --model folder/);
  assert.ok(readFileSync(join(base, 'model.safetensors')).equals(weights));
});

test('train --overwrite with --method full after a LoRA run removes the stale adapter files', () => {
  const dir = tmp();
  const out = join(dir, 'run');
  const data = idsData(dir);
  const common = ['--model', fixturePath('gpt2-tiny'), '--data', data, '--out', out, '--max-steps', '1', '--batch-size', '4', '--no-progress'];
  const l = gptune(['train', ...common, '--method', 'lora']);
  assert.equal(l.code, 0, l.err);
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')));
  writeFileSync(join(out, 'my_notes.md'), 'mine');
  const f = gptune(['train', ...common, '--method', 'full', '--overwrite']);
  assert.equal(f.code, 0, f.err);
  assert.ok(existsSync(join(out, 'model.safetensors')));
  assert.ok(!existsSync(join(out, 'adapter_model.safetensors')) && !existsSync(join(out, 'adapter_config.json')), 'stale adapter removed');
  assert.equal(readFileSync(join(out, 'my_notes.md'), 'utf8'), 'mine');
});

test('an unwritable --out is reported with its path before the data is read', (t) => {
  const dir = tmp();
  let out: string;
  if (process.getuid?.() === 0) {
    out = '/sys/gptune-test-out'; // root writes through chmod; /sys refuses even root (EPERM/EROFS)
  } else {
    mkdirSync(join(dir, 'ro'));
    chmodSync(join(dir, 'ro'), 0o555);
    out = join(dir, 'ro', 'run');
  }
  if (existsSync(out)) return t.skip('no unwritable location here');
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"input_ids": [1, 2,\n'); // would fail as malformed data if it were read first
  const r = gptune(['train', '--model', fixturePath('gpt2-tiny'), '--data', bad, '--out', out, '--max-steps', '1', '--no-progress']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, new RegExp(`--out ${out}: cannot write there: .*(EROFS|EACCES|EPERM)`));
});

test('tokenizer train into a run folder is refused without --overwrite', () => {
  const dir = tmp();
  const run = join(dir, 'run');
  cpSync(fixturePath('gpt2-tiny', 'lora'), run, { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'the cat sat on the mat. '.repeat(20));
  const r = gptune(['tokenizer', 'train', '--data', join(dir, 'a.txt'), '--vocab-size', '280', '--out', run]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /run is not empty.*adapter/);
  assert.ok(!existsSync(join(run, 'tokenizer.json')));
});
