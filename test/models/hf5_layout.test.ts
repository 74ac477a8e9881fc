// Checkpoints saved by transformers 5 (rope_parameters, dtype) and 4.x (rope_theta, rope_scaling,
// torch_dtype) give the same numbers; llama3, yarn and dynamic RoPE match LlamaForCausalLM's logits.
// Fixtures: test/fixtures/hf5 (scripts/fixtures/make_hf5_fixtures.py, transformers 5.17.0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/models/load.js';
import { causalLMLoss } from '../../src/train/losses.js';
import { noGrad, releaseAll } from '../../src/tensor/tape.js';
import { generate } from '../../src/generate/generate.js';
import { loadAdapter, mergeAdapter } from '../../src/lora/index.js';
import { loadSafetensors } from '../../src/formats/safetensors.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { expectClose } from '../helpers/close.js';
import { fixturePath, fixtureTensors } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const tmp = () => tempDir('hf5-');

function logitsOf(model: CausalLM, ids: Int32Array, B: number, T: number): Float32Array {
  const out = noGrad(() => Float32Array.from(model.eval().forward(ids, B, T).data));
  releaseAll();
  return out;
}

function lossOf(model: CausalLM, ids: Int32Array, B: number, T: number): number {
  const out = noGrad(() => causalLMLoss(model.eval().forward(ids, B, T), ids, B, T).item());
  releaseAll();
  return out;
}

/** A model directory whose config.json is `configFile` of `dir` (the other layout), weights shared. */
function withConfig(dir: string, configFile: string): string {
  const d = tmp();
  copyFileSync(join(dir, configFile), join(d, 'config.json'));
  copyFileSync(join(dir, 'model.safetensors'), join(d, 'model.safetensors'));
  return d;
}

for (const name of ['llama-tiny', 'gpt2-tiny']) {
  test(`${name}: the transformers 5 re-save gives the 4.x fixture's numbers (loss, logits, greedy, LoRA, merge)`, () => {
    const v4 = fixturePath(name), v5 = fixturePath('hf5', name);
    assert.ok(JSON.parse(readFileSync(join(v5, 'config.json'), 'utf8')).dtype, 'the re-save uses the 5.x layout');
    const a = loadModel(v4), b = loadModel(v5);
    const ids = Int32Array.from({ length: 2 * 24 }, (_, i) => (i * 37 + 5) % a.model.vocabSize);
    assert.deepEqual(logitsOf(b.model, ids, 2, 24), logitsOf(a.model, ids, 2, 24));
    assert.equal(lossOf(b.model, ids, 2, 24), lossOf(a.model, ids, 2, 24));
    const greedy = (m: CausalLM) => generate(m, [3, 9, 27], { maxNewTokens: 8, temperature: 0 }).ids;
    assert.deepEqual(greedy(b.model), greedy(a.model));
    loadAdapter(a.model, join(v4, 'lora'));
    loadAdapter(b.model, join(v4, 'lora'));
    assert.equal(lossOf(b.model, ids, 2, 24), lossOf(a.model, ids, 2, 24), 'LoRA loss');
    const outA = tmp(), outB = tmp();
    try {
      mergeAdapter(v4, join(v4, 'lora'), join(outA, 'm'));
      mergeAdapter(v5, join(v4, 'lora'), join(outB, 'm'));
      const ta = loadSafetensors(join(outA, 'm', 'model.safetensors')).tensors, tb = loadSafetensors(join(outB, 'm', 'model.safetensors')).tensors;
      for (const [k, t] of ta) assert.deepEqual(tb.get(k)!.data, t.data, `merged ${k}`);
      // Each merge keeps its base's layout and carries generation_config.json along.
      const cb = JSON.parse(readFileSync(join(outB, 'm', 'config.json'), 'utf8'));
      const ca = JSON.parse(readFileSync(join(outA, 'm', 'config.json'), 'utf8'));
      assert.equal(cb.dtype, 'float32');
      assert.equal(cb.torch_dtype, undefined);
      assert.equal(ca.torch_dtype, 'float32');
      assert.equal(ca.dtype, undefined);
      assert.deepEqual(Object.keys(cb).sort(), Object.keys(JSON.parse(readFileSync(join(v5, 'config.json'), 'utf8'))).sort());
      assert.deepEqual(readFileSync(join(outB, 'm', 'generation_config.json')), readFileSync(join(v5, 'generation_config.json')));
    } finally {
      rmSync(outA, { recursive: true, force: true });
      rmSync(outB, { recursive: true, force: true });
    }
  });
}

// Measured error ~1e-7; with default RoPE instead of the scaled one it is 4e-4 (llama3) and 1e-3 (yarn).
for (const [name, atol] of [['llama31-tiny', 1e-6], ['yarn-tiny', 1e-6], ['dynamic-tiny', 1e-6]] as const) {
  test(`${name}: logits match transformers 5's LlamaForCausalLM, in both config layouts`, () => {
    const dir = fixturePath('hf5', name);
    const ref = fixtureTensors('hf5', name, 'logits.safetensors');
    const ids = ref.get('input_ids')!;
    const [B, T] = ids.shape;
    const v4 = withConfig(dir, 'config_v4.json');
    try {
      const a = logitsOf(loadModel(dir).model, Int32Array.from(ids.data), B, T);
      const b = logitsOf(loadModel(v4).model, Int32Array.from(ids.data), B, T);
      assert.deepEqual(b, a, 'both layouts give the same logits');
      expectClose(`${name} logits`, a, ref.get('logits')!.data, { atol, rtol: 0 });
    } finally {
      rmSync(v4, { recursive: true, force: true });
    }
  });
}
