// PEFT adapter directories: Python-identical adapter_config.json, our own save -> load, and every
// refusal of loadAdapter (wrong base, unknown module, unselected module, missing factor, bad config).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '../../src/models/registry.js';
import { loadModel } from '../../src/models/load.js';
import { loadSafetensors, saveSafetensors, type Tensor as FileTensor } from '../../src/formats/safetensors.js';
import { parsePeftKey, peftKey, pythonFloat, pythonJson } from '../../src/formats/peft_adapter.js';
import { applyLora, loraModules } from '../../src/lora/inject.js';
import { adapterTensors, loadAdapter, loadAdapterWeights, saveAdapter } from '../../src/lora/adapter.js';
import { mergeAdapter } from '../../src/lora/merge.js';
import { fixturePath } from '../helpers/fixtures.js';
import { expectClose, rng } from '../helpers/close.js';
import { tempDir } from '../helpers/temp_dir.js';

const FIXTURE = fixturePath('gpt2-tiny');
const ADAPTER = fixturePath('gpt2-tiny', 'lora');
const CONFIG = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
const gpt2 = (overrides: Record<string, unknown> = {}) => createModel({ ...CONFIG, ...overrides });

function withTmp(fn: (dir: string) => void): void {
  const dir = tempDir('lora-files-');
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** A copy of the fixture adapter with its config and/or tensors edited. */
function editedAdapter(dir: string, { config = (c: Record<string, unknown>) => c, tensors = (t: Map<string, FileTensor>) => t } = {}): string {
  const raw = JSON.parse(readFileSync(join(ADAPTER, 'adapter_config.json'), 'utf8'));
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config(raw)));
  saveSafetensors(join(dir, 'adapter_model.safetensors'), tensors(loadSafetensors(join(ADAPTER, 'adapter_model.safetensors')).tensors));
  return dir;
}

test("pythonFloat writes Python's float repr", () => {
  const cases: Array<[number, string]> = [
    [0, '0.0'], [0.05, '0.05'], [0.1, '0.1'], [1, '1.0'], [-2.5, '-2.5'], [1e-4, '0.0001'], [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'], [123456.789, '123456.789'], [1e15, '1000000000000000.0'], [1e16, '1e+16'], [2.5e20, '2.5e+20'],
    [1 / 3, '0.3333333333333333'], [5e-324, '5e-324'],
  ];
  for (const [x, want] of cases) assert.equal(pythonFloat(x), want, String(x));
});

test('pythonJson reproduces json.dumps(indent=2, sort_keys=True) (the fixture config, byte for byte)', () => {
  const text = readFileSync(join(ADAPTER, 'adapter_config.json'), 'utf8').trimEnd();
  assert.equal(pythonJson(JSON.parse(text), new Set(['lora_dropout'])), text);
  assert.equal(pythonJson({ b: 'é', a: [1, 0.5, { c: null }], '': {} }), '{\n  "": {},\n  "a": [\n    1,\n    0.5,\n    {\n      "c": null\n    }\n  ],\n  "b": "\\u00e9"\n}');
});

test('PEFT keys: base_model.model.<module>.lora_A.weight, without the adapter name', () => {
  assert.equal(peftKey('transformer.h.0.attn.c_attn', 'lora_B'), 'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight');
  assert.deepEqual(parsePeftKey('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'), { module: 'model.layers.0.self_attn.q_proj', factor: 'lora_A' });
  assert.equal(parsePeftKey('base_model.model.x.lora_A.default.weight'), null);
  assert.equal(parsePeftKey('base_model.model.x.lora_magnitude_vector'), null);
});

test('our adapter round-trips: save -> load gives the same factors, config and outputs; F16 saves load too', () => {
  withTmp((dir) => {
    const model = gpt2();
    model.initWeights(1);
    applyLora(model, { target_modules: ['c_attn', 'mlp.c_proj'], r: 3, lora_alpha: 5, lora_dropout: 0.05, use_rslora: true, rank_pattern: { c_attn: 2 } }, { seed: 4 });
    const r = rng(3);
    for (const [, t] of adapterTensors(model)) t.data.set(r.f32(t.size, 0.1));
    saveAdapter(model, join(dir, 'a'), { baseModelNameOrPath: 'tiny-gpt2' });
    const cfg = JSON.parse(readFileSync(join(dir, 'a', 'adapter_config.json'), 'utf8'));
    assert.equal(cfg.peft_type, 'LORA');
    assert.equal(cfg.task_type, 'CAUSAL_LM');
    assert.equal(cfg.fan_in_fan_out, true);
    assert.equal(cfg.inference_mode, true);
    assert.equal(cfg.base_model_name_or_path, 'tiny-gpt2');
    assert.deepEqual(cfg.target_modules, ['c_attn', 'mlp.c_proj']);
    assert.deepEqual(cfg.rank_pattern, { c_attn: 2 });
    assert.match(readFileSync(join(dir, 'a', 'adapter_config.json'), 'utf8'), /"lora_dropout": 0\.05,\n/);
    const keys = loadSafetensors(join(dir, 'a', 'adapter_model.safetensors')).tensors;
    assert.deepEqual(keys.get('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight')!.shape, [2, 64]);
    assert.deepEqual(keys.get('base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight')!.shape, [64, 3]);

    const base = model.namedParameters().filter(([n]) => !n.includes('lora_'));
    const again = gpt2();
    again.loadTensors((name) => { const p = base.find(([n]) => n === name)?.[1]; return p && { data: p.data, shape: p.shape }; });
    const s = loadAdapter(again, join(dir, 'a'), { trainable: true });
    assert.ok(s.trainableParams > 0);
    const want = new Map(adapterTensors(model).map(([k, t]) => [k, t.data]));
    for (const [k, t] of adapterTensors(again)) assert.deepEqual(t.data, want.get(k), k);
    const scal = new Map(loraModules(again).map(([n, m]) => [n, m.scaling]));
    assert.equal(scal.get('transformer.h.0.attn.c_attn'), 5 / Math.sqrt(2));
    assert.equal(scal.get('transformer.h.0.mlp.c_proj'), 5 / Math.sqrt(3));

    saveAdapter(model, join(dir, 'f16'), { dtype: 'F16' });
    const half = gpt2();
    loadAdapter(half, join(dir, 'f16'));
    for (const [k, t] of adapterTensors(half)) expectClose(k, t.data, want.get(k)!, { atol: 1e-4, rtol: 1e-3 });

    // Resuming: factors copied into an already adapted model; a mismatch is named.
    const resumed = gpt2();
    applyLora(resumed, { target_modules: ['c_attn', 'mlp.c_proj'], r: 3, lora_alpha: 5, rank_pattern: { c_attn: 2 } });
    loadAdapterWeights(resumed, join(dir, 'a'));
    for (const [k, t] of adapterTensors(resumed)) assert.deepEqual(t.data, want.get(k), k);
    const other = gpt2();
    applyLora(other, { target_modules: ['c_attn'], r: 3 });
    assert.throws(() => loadAdapterWeights(other, join(dir, 'a')), /tensor 'base_model\.model\.transformer\.h\.0\.attn\.c_attn\.lora_A\.weight' has shape \[2, 64\], the model's LoRA layer needs \[3, 64\]|matches no LoRA layer/);
  });
});

test('an adapter made for another base: an error naming the tensor and both shapes; the model is unchanged', () => {
  const model = gpt2({ n_embd: 32 });
  assert.throws(() => loadAdapter(model, ADAPTER),
    /tensor 'base_model\.model\.transformer\.h\.0\.attn\.c_attn\.lora_A\.weight' has shape \[4, 64\], but module 'transformer\.h\.0\.attn\.c_attn' of the base model needs \[4, 32\]/);
  assert.equal(loraModules(model).length, 0);
  assert.ok(model.parameters().every((p) => p.requiresGrad));
});

test('a tensor for a module the base lacks, or one the config does not select, is named', () => {
  assert.throws(() => loadAdapter(gpt2({ n_layer: 1 }), ADAPTER),
    /tensor 'base_model\.model\.transformer\.h\.1\.attn\.c_attn\.lora_A\.weight' is for module 'transformer\.h\.1\.attn\.c_attn', which the base model does not have/);
  withTmp((dir) => {
    editedAdapter(dir, { config: (c) => ({ ...c, target_modules: ['c_attn', 'c_fc'] }) });
    assert.throws(() => loadAdapter(gpt2(), dir), /is for module 'transformer\.h\.0\.attn\.c_proj', which target_modules \["c_attn","c_fc"\]/);
  });
  withTmp((dir) => {
    editedAdapter(dir, { tensors: (t) => { t.delete('base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight'); return t; } });
    assert.throws(() => loadAdapter(gpt2(), dir), /no tensor 'base_model\.model\.transformer\.h\.1\.mlp\.c_fc\.lora_B\.weight' for adapted module/);
  });
  withTmp((dir) => {
    editedAdapter(dir, { tensors: (t) => t.set('base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector', { dtype: 'F32', shape: [192], data: new Float32Array(192) }) });
    assert.throws(() => loadAdapter(gpt2(), dir), /tensor 'base_model\.model\.transformer\.h\.0\.attn\.c_attn\.lora_magnitude_vector' is not a LoRA factor/);
  });
});

test('adapter_config.json: unknown keys ignored, settings that change the math refused by name', () => {
  withTmp((dir) => {
    editedAdapter(dir, { config: (c) => ({ ...c, some_future_field: { x: 1 }, eva_config: null, exclude_modules: null }) });
    assert.equal(loadAdapter(gpt2(), dir).adapted.length, 8);
  });
  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ bias: 'lora_only' }, /'bias'/],
    [{ use_dora: true }, /'use_dora'/],
    [{ modules_to_save: 'lm_head' }, /'modules_to_save'/],
    [{ lora_bias: true }, /'lora_bias'/],
    [{ peft_type: 'ADALORA' }, /'peft_type'/],
    [{ layer_replication: [[0, 1]] }, /'layer_replication'/],
    [{ init_lora_weights: 'loftq' }, /'init_lora_weights'/],
  ];
  for (const [edit, re] of refused) {
    withTmp((dir) => {
      editedAdapter(dir, { config: (c) => ({ ...c, ...edit }) });
      assert.throws(() => loadAdapter(gpt2(), dir), (e: Error) => re.test(e.message) && e.message.includes('adapter_config.json'), JSON.stringify(edit));
    });
  }
  withTmp((dir) => {
    copyFileSync(join(ADAPTER, 'adapter_config.json'), join(dir, 'adapter_config.json'));
    writeFileSync(join(dir, 'adapter_model.bin'), 'pickle');
    assert.throws(() => loadAdapter(gpt2(), dir), /only adapter_model\.bin/);
  });
  assert.throws(() => loadAdapter(gpt2(), join(FIXTURE, 'nope')), /no adapter_config\.json/);
});

test('mergeAdapter keeps tokenizer and generation files byte for byte, and can change the dtype', () => {
  withTmp((dir) => {
    const base = join(dir, 'base');
    mkdirSync(base);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURE, f), join(base, f));
    const files = { 'tokenizer.json': '{"version": "1.0"}\n', 'generation_config.json': '{\n  "do_sample": false\n}', 'merges.txt': '#v\n' };
    for (const [f, c] of Object.entries(files)) writeFileSync(join(base, f), c);
    const out = join(dir, 'out');
    const r = mergeAdapter(base, ADAPTER, out, { dtype: 'BF16' });
    assert.deepEqual(r.copied.sort(), Object.keys(files).sort());
    for (const [f, c] of Object.entries(files)) assert.equal(readFileSync(join(out, f), 'utf8'), c, f);
    const merged = loadModel(out);
    assert.equal(merged.dtype, 'BF16');
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
    const want = loadSafetensors(join(ADAPTER, 'merged.safetensors')).tensors;
    for (const [n, p] of merged.model.namedParameters()) {
      expectClose(n, p.data, want.get(n)!.data as Float32Array, { atol: 1e-6, rtol: 2 ** -8 }); // bf16 keeps 8 bits
    }
  });
});
