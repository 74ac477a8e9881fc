// `gptune export` from the command line: writes the GGUF and its Modelfile, refuses to replace an
// existing file without --overwrite (leaving it intact), and refuses bad flags by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');
const BASE = join(fixturePath(), '..', '..', 'assets', 'base-model');
const ROOT = tempDir('export-cli-');

function gptune(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
}

test('gptune export --format gguf writes the file and a Modelfile, and keeps an existing file', () => {
  const out = join(ROOT, 'base.gguf');
  const r = gptune('export', '--model', BASE, '--dtype', 'q8_0', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*base\.gguf \(gpt2, 52 tensors\) and .*base\.Modelfile/);
  assert.equal(readFileSync(out).subarray(0, 4).toString(), 'GGUF');
  assert.equal(readFileSync(join(ROOT, 'base.Modelfile'), 'utf8'), 'FROM ./base.gguf\nPARAMETER stop "<|endoftext|>"\n');
  const before = statSync(out).mtimeMs;
  const again = gptune('export', '--model', BASE, '--dtype', 'f16', '--out', out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /base\.gguf: already exists \(pass --overwrite to replace it\)/);
  assert.equal(statSync(out).mtimeMs, before);
  assert.equal(gptune('export', '--model', BASE, '--dtype', 'f16', '--out', out, '--overwrite').status, 0);
  assert.deepEqual(readdirSync(ROOT).sort(), ['base.Modelfile', 'base.gguf'], 'no temporary files are left');
});

test('gptune export refuses unknown formats and dtypes, and gguf-lora without --adapter', () => {
  const out = join(ROOT, 'x.gguf');
  assert.match(gptune('export', '--model', BASE, '--dtype', 'q4_k', '--out', out).stderr, /--dtype must be one of f32, f16, bf16, q8_0, q4_0, got 'q4_k'/);
  assert.match(gptune('export', '--model', BASE, '--format', 'onnx', '--out', out).stderr, /--format must be one of gguf, gguf-lora, got 'onnx'/);
  assert.match(gptune('export', '--model', BASE, '--format', 'gguf-lora', '--out', out).stderr, /needs --adapter/);
});
