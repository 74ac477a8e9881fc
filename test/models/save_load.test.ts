// Saving a model directory and loading it back: bit-exact in F32; F16/BF16 checkpoints load
// (computed in f32) within their rounding; keys without the `transformer.` prefix load too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, saveModel } from '../../src/models/load.js';
import { loadSafetensors, saveSafetensors, type Tensor as FileTensor } from '../../src/formats/safetensors.js';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const tmp = () => tempDir('save-');

test('save then load is bit-exact (F32) and writes config.json + generation_config.json', () => {
  const a = loadModel(fixturePath('gpt2-tiny'));
  const dir = join(tmp(), 'm');
  saveModel(dir, a.model, a.config, { generationConfig: { eos_token_id: 0 }, extraFiles: { 'tokenizer_config.json': '{}' } });
  const b = loadModel(dir);
  const pb = new Map(b.model.namedParameters());
  for (const [n, p] of a.model.namedParameters()) assert.deepEqual(pb.get(n)!.data, p.data, n);
  assert.deepEqual(b.generationConfig, { eos_token_id: 0 });
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).n_embd, 64);
  // The saved file is the fixture's bytes: same names, sorting, header and data.
  assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(fixturePath('gpt2-tiny', 'model.safetensors'))));
});

test('BF16 and F16 checkpoints load within their rounding; keys without the transformer. prefix', () => {
  const ref = loadModel(fixturePath('gpt2-tiny')).model;
  const { tensors } = loadSafetensors(fixturePath('gpt2-tiny', 'model.safetensors'));
  for (const [dtype, rel] of [['BF16', 2 ** -8], ['F16', 2 ** -11]] as const) {
    const dir = tmp();
    cpSync(fixturePath('gpt2-tiny', 'config.json'), join(dir, 'config.json'));
    const list: Array<[string, FileTensor]> = [...tensors].map(([k, t]) => [k.replace(/^transformer\./, ''), { dtype, shape: t.shape, data: t.data }]);
    saveSafetensors(join(dir, 'model.safetensors'), list);
    const { model, dtype: loadedAs } = loadModel(dir);
    assert.equal(loadedAs, dtype);
    const pr = new Map(ref.namedParameters());
    for (const [n, p] of model.namedParameters()) {
      const want = pr.get(n)!.data;
      for (let i = 0; i < p.size; i++) {
        assert.ok(Math.abs(p.data[i] - want[i]) <= Math.abs(want[i]) * rel + 1e-7, `${dtype} ${n}[${i}]: ${p.data[i]} vs ${want[i]}`);
      }
    }
  }
});

test('missing tensors and legacy attention buffers', () => {
  const { tensors } = loadSafetensors(fixturePath('gpt2-tiny', 'model.safetensors'));
  const dir = tmp();
  cpSync(fixturePath('gpt2-tiny', 'config.json'), join(dir, 'config.json'));
  const list: Array<[string, FileTensor]> = [...tensors].filter(([k]) => k !== 'transformer.ln_f.bias').map(([k, t]) => [k, t]);
  list.push(['transformer.h.0.attn.bias', { dtype: 'F32', shape: [1, 1, 4, 4], data: new Float32Array(16) }]);
  saveSafetensors(join(dir, 'model.safetensors'), list);
  assert.throws(() => loadModel(dir), /missing tensor 'transformer\.ln_f\.bias' \[64\]/);
  writeFileSync(join(dir, 'config.json'), '{"model_type": "gpt2",');
  assert.throws(() => loadModel(dir), /config\.json: cannot read/);
});
