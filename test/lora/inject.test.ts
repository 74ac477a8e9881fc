// applyLora: PEFT's target matching (list suffixes, full-match regex, all-linear, defaults, excludes,
// layers_to_transform, rank/alpha patterns), freezing, parameter naming and counts, and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createModel } from '../../src/models/registry.js';
import { loadModel } from '../../src/models/load.js';
import { causalLMLoss } from '../../src/train/losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { noGrad } from '../../src/tensor/tape.js';
import { applyLora, formatLoraSummary, fuseLora, loraConfigOf, loraModules, loraParameters, planLora } from '../../src/lora/inject.js';
import { LoraLinear } from '../../src/lora/lora_linear.js';
import { Linear } from '../../src/nn/layers.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { fixturePath } from '../helpers/fixtures.js';
import { expectClose, rng } from '../helpers/close.js';

const CONFIG = JSON.parse(readFileSync(fixturePath('gpt2-tiny', 'config.json'), 'utf8'));
const gpt2 = (overrides: Record<string, unknown> = {}) => createModel({ ...CONFIG, ...overrides });
const h = (i: number, m: string) => `transformer.h.${i}.${m}`;
const adapted = (model: CausalLM) => loraModules(model).map(([n]) => n);

test('target_modules list: exact names or suffixes after a dot', () => {
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['c_attn'] }).adapted, [h(0, 'attn.c_attn'), h(1, 'attn.c_attn')]);
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['c_proj'] }).adapted,
    [h(0, 'attn.c_proj'), h(0, 'mlp.c_proj'), h(1, 'attn.c_proj'), h(1, 'mlp.c_proj')]);
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['mlp.c_proj', h(0, 'attn.c_attn')] }).adapted,
    [h(0, 'attn.c_attn'), h(0, 'mlp.c_proj'), h(1, 'mlp.c_proj')]);
  // Overlapping entries are fine (each matched something), and a module is adapted once.
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['c_proj', 'mlp.c_proj'] }).adapted,
    [h(0, 'attn.c_proj'), h(0, 'mlp.c_proj'), h(1, 'attn.c_proj'), h(1, 'mlp.c_proj')]);
  // 'proj' is not a dotted suffix of 'c_proj'.
  assert.throws(() => applyLora(gpt2(), { target_modules: ['proj'] }), /matches no module/);
});

test('target_modules string: a regex that must match the whole module name', () => {
  assert.deepEqual(applyLora(gpt2(), { target_modules: String.raw`transformer\.h\.\d+\.attn\.c_attn` }).adapted, [h(0, 'attn.c_attn'), h(1, 'attn.c_attn')]);
  assert.deepEqual(applyLora(gpt2(), { target_modules: String.raw`.*\.mlp\..*` }).adapted,
    [h(0, 'mlp.c_fc'), h(0, 'mlp.c_proj'), h(1, 'mlp.c_fc'), h(1, 'mlp.c_proj')]);
  assert.deepEqual(applyLora(gpt2(), { target_modules: String.raw`.*h\.1\.attn\.c_(attn|proj)` }).adapted, [h(1, 'attn.c_attn'), h(1, 'attn.c_proj')]);
  // Not a search: 'c_attn' alone matches no full name.
  assert.throws(() => applyLora(gpt2(), { target_modules: 'c_attn' }), /matches no module of the model; its Linear modules are transformer\.h\.0\.attn\.c_attn/);
  assert.throws(() => applyLora(gpt2(), { target_modules: String.raw`.*\.attn` }), /selects 'transformer\.h\.0\.attn', which is a GPT2Attention, not a Linear/);
  assert.throws(() => applyLora(gpt2(), { target_modules: '(' }), /not a valid regular expression/);
});

test("'all-linear': every Linear except the output head, saved as the resolved list (as PEFT does)", () => {
  const all = [0, 1].flatMap((i) => ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((m) => h(i, m)));
  const tied = gpt2();
  const s = applyLora(tied, { target_modules: 'all-linear' });
  assert.deepEqual(s.adapted, all);
  assert.deepEqual(s.config.target_modules, all);
  const untied = gpt2({ tie_word_embeddings: false });
  assert.ok(untied.namedModules().some(([n, m]) => n === 'lm_head' && m instanceof Linear));
  assert.deepEqual(applyLora(untied, { target_modules: 'ALL-LINEAR' }).adapted, all, 'lm_head is not adapted');
  assert.deepEqual(applyLora(gpt2({ tie_word_embeddings: false }), { target_modules: ['lm_head'] }).adapted, ['lm_head'], 'but can be named');
});

test("target_modules null takes PEFT's default for the model type (GPT-2: c_attn)", () => {
  const s = applyLora(gpt2(), {});
  assert.deepEqual(s.adapted, [h(0, 'attn.c_attn'), h(1, 'attn.c_attn')]);
  assert.deepEqual(s.config.target_modules, ['c_attn']);
  assert.equal(s.config.fan_in_fan_out, true, 'GPT-2 Conv1D layers');
  assert.equal(s.config.r, 8);
  assert.equal(s.config.lora_alpha, 8);
});

test('exclude_modules, layers_to_transform / layers_pattern, rank_pattern and alpha_pattern', () => {
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['c_proj'], exclude_modules: ['mlp.c_proj'] }).adapted, [h(0, 'attn.c_proj'), h(1, 'attn.c_proj')]);
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['c_proj'], exclude_modules: String.raw`.*h\.0\..*` }).adapted, [h(1, 'attn.c_proj'), h(1, 'mlp.c_proj')]);
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['c_attn', 'c_fc'], layers_to_transform: [1] }).adapted, [h(1, 'attn.c_attn'), h(1, 'mlp.c_fc')]);
  assert.deepEqual(applyLora(gpt2(), { target_modules: ['c_attn'], layers_to_transform: 0, layers_pattern: 'h' }).adapted, [h(0, 'attn.c_attn')]);
  assert.throws(() => applyLora(gpt2(), { target_modules: ['c_attn'], layers_to_transform: [0], layers_pattern: 'layers' }), /matches no module/);
  const model = gpt2();
  applyLora(model, { target_modules: ['c_attn', 'c_fc'], r: 4, lora_alpha: 8, rank_pattern: { c_fc: 2 }, alpha_pattern: { [String.raw`h\.1\.attn\.c_attn`]: 16 } });
  const byName = new Map(loraModules(model));
  assert.equal(byName.get(h(0, 'attn.c_attn'))!.r, 4);
  assert.equal(byName.get(h(0, 'attn.c_attn'))!.scaling, 2);
  assert.equal(byName.get(h(0, 'mlp.c_fc'))!.r, 2);
  assert.deepEqual(byName.get(h(1, 'mlp.c_fc'))!.lora_A.weight.shape, [2, 64]);
  assert.equal(byName.get(h(1, 'mlp.c_fc'))!.scaling, 4);
  assert.equal(byName.get(h(1, 'attn.c_attn'))!.scaling, 4);
});

test('applyLora freezes the base, names the factors as PEFT does and counts parameters', () => {
  const model = gpt2();
  const total0 = model.numParameters();
  const s = applyLora(model, { target_modules: ['c_attn', 'c_fc'], r: 4, lora_alpha: 8 });
  // c_attn: 4 * (64 + 192), c_fc: 4 * (64 + 256), two layers.
  const trainable = 2 * (4 * (64 + 192) + 4 * (64 + 256));
  assert.equal(s.trainableParams, trainable);
  assert.equal(s.totalParams, total0 + trainable);
  const names = model.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
  assert.deepEqual(names, [0, 1].flatMap((i) => ['attn.c_attn', 'mlp.c_fc'].flatMap((m) => [`${h(i, m)}.lora_A.weight`, `${h(i, m)}.lora_B.weight`])));
  // The base keeps its checkpoint names (so the model still saves and loads as a HF checkpoint).
  assert.ok(model.namedParameters().some(([n, p]) => n === h(0, 'attn.c_attn.weight') && !p.requiresGrad));
  assert.equal(loraParameters(model).length, 8);
  assert.equal(loraConfigOf(model)!.r, 4);
  assert.match(formatLoraSummary(s), /^trainable params: 4,608 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/);
});

test('training a LoRA model: no gradient buffers for the base, AdamW state only for the factors', () => {
  const model = gpt2();
  model.initWeights(3);
  applyLora(model, { target_modules: ['c_attn', 'c_proj'], r: 2, lora_alpha: 4 }, { seed: 9 });
  const r = rng(5);
  const ids = r.ints(2 * 8, 512);
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.1 });
  for (let step = 0; step < 2; step++) {
    causalLMLoss(model.forward(ids, 2, 8), ids, 2, 8).backward();
    opt.stepUpdate();
    opt.zeroGrad();
  }
  const lora = new Set(loraParameters(model));
  for (const [name, p] of model.namedParameters()) {
    if (lora.has(p)) {
      assert.ok(opt.stateOf(p) && p.grad, `${name}: trained`);
    } else {
      assert.equal(p.grad, null, `${name}: no gradient buffer`);
      assert.equal(opt.stateOf(p), null, `${name}: no optimizer state`);
    }
  }
  // After two steps B is no longer zero, so the adapter changes the output.
  assert.ok(loraModules(model).every(([, m]) => m.lora_B.weight.data.some((v) => v !== 0)));
});

test('fuseLora swaps every LoraLinear for a plain Linear with the same outputs', () => {
  const model = gpt2();
  model.initWeights(4);
  applyLora(model, { target_modules: 'all-linear', r: 2 }, { seed: 2 });
  const r = rng(6);
  for (const p of loraParameters(model)) p.data.set(r.f32(p.size, 0.05));
  const ids = r.ints(8, 512);
  const logits = () => noGrad(() => Float32Array.from(model.eval().forward(ids, 1, 8).data));
  const before = logits();
  const fused = fuseLora(model);
  assert.equal(fused.length, 8);
  assert.equal(loraModules(model).length, 0);
  assert.ok(model.namedModules().every(([, m]) => !(m instanceof LoraLinear)));
  assert.equal(loraConfigOf(model), undefined);
  expectClose('fused logits', logits(), before, { atol: 1e-5, rtol: 0 });
});

test('fuseLora / mergeLora with a broken adapter throw and leave every layer unmerged', () => {
  const model = gpt2();
  model.initWeights(4);
  applyLora(model, { target_modules: ['c_attn', 'c_fc'], r: 2 }, { seed: 2 });
  const layers = loraModules(model);
  const weights = layers.map(([, m]) => Float32Array.from(m.weight.data));
  for (const [, m] of layers) m.lora_B.weight.data.fill(0.01);
  layers[2][1].lora_B.weight.data[0] = NaN; // a later layer: earlier ones merge first, then roll back
  assert.throws(() => fuseLora(model), /NaNs or Infs/);
  assert.equal(loraModules(model).length, 4);
  layers.forEach(([, m], i) => {
    assert.equal(m.merged, false);
    expectClose(`rolled back ${i}`, m.weight.data, weights[i], { atol: 1e-6, rtol: 0 });
  });
});

test('merging into a weight tied to another parameter is refused', () => {
  const model = gpt2({ tie_word_embeddings: false });
  const head = model.namedModules().find(([n]) => n === 'lm_head')![1] as Linear;
  head.weight = (model as unknown as { transformer: { wte: { weight: typeof head.weight } } }).transformer.wte.weight; // tie it
  applyLora(model, { target_modules: ['lm_head'], r: 2 });
  assert.throws(() => fuseLora(model), /'lm_head': its weight is tied to another parameter/);
});

test('LoRA dropout follows the forward options\' dropoutSeed (given per micro-batch by the trainer)', () => {
  const model = gpt2();
  model.initWeights(5);
  applyLora(model, { target_modules: ['c_attn'], lora_dropout: 0.5 });
  const r = rng(8);
  for (const [, m] of loraModules(model)) m.lora_B.weight.data.set(r.f32(m.lora_B.weight.size, 0.1));
  const ids = r.ints(8, 512);
  const logits = (dropoutSeed: number) => noGrad(() => Float32Array.from(model.forward(ids, 1, 8, { dropoutSeed }).data));
  model.train();
  const a = logits(1);
  assert.deepEqual(logits(1), a);
  assert.notDeepEqual(logits(2), a);
  model.eval();
  assert.deepEqual(logits(1), logits(2), 'no dropout in eval mode');
});

test('applyLora errors: unmatched targets list the Linear modules; bad or unsupported settings are named', () => {
  const linearList = /Linear modules are transformer\.h\.0\.attn\.c_attn, transformer\.h\.0\.attn\.c_proj, transformer\.h\.0\.mlp\.c_fc/;
  assert.throws(() => applyLora(gpt2(), { target_modules: ['q_proj', 'v_proj'] }), linearList);
  // A typo next to a valid name is caught too (PEFT would silently skip it) ...
  assert.throws(() => applyLora(gpt2(), { target_modules: ['c_attn', 'c_atn'] }), /entry "c_atn" matches no module/);
  // ... unless asked for PEFT's leniency (what loadAdapter does).
  assert.equal(planLora(gpt2(), { target_modules: ['c_attn', 'c_atn'] }, { strictTargets: false }).entries.length, 2);
  assert.throws(() => applyLora(gpt2(), { target_modules: ['ln_1'] }), /'transformer\.h\.0\.ln_1', which is a LayerNorm, not a Linear/);
  const model = gpt2();
  applyLora(model, { target_modules: ['c_attn'] });
  assert.throws(() => applyLora(model, { target_modules: ['c_fc'] }), /already has LoRA layers/);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ r: 0 }, /'r': expected a positive integer/],
    [{ r: 2.5 }, /'r': expected a positive integer/],
    [{ lora_alpha: -1 }, /'lora_alpha'/],
    [{ lora_dropout: 1 }, /'lora_dropout'/],
    [{ bias: 'all' }, /'bias': only bias "none"/],
    [{ use_dora: true }, /'use_dora': DoRA/],
    [{ modules_to_save: 'lm_head' }, /'modules_to_save'/],
    [{ init_lora_weights: 'pissa' }, /'init_lora_weights': "pissa" is not supported/],
    [{ peft_type: 'IA3' }, /'peft_type'/],
    [{ target_modules: 5 }, /'target_modules': expected a list/],
    [{ target_modules: 'c.*', layers_to_transform: [0] }, /'layers_to_transform'/],
    [{ rank_pattern: { c_attn: 0 } }, /'rank_pattern'/],
  ];
  for (const [cfg, re] of cases) assert.throws(() => applyLora(gpt2(), { target_modules: ['c_attn'], ...cfg }), re, JSON.stringify(cfg));
  // The failed calls left their models untouched.
  const m = gpt2();
  assert.throws(() => applyLora(m, { target_modules: ['c_attn'], bias: 'all' } as never));
  assert.ok(m.parameters().every((p) => p.requiresGrad));
  assert.equal(loraModules(m).length, 0);
});

test('loaded checkpoints: all-linear on the fixture model needs no config beyond the targets', () => {
  const { model } = loadModel(fixturePath('gpt2-tiny'));
  const s = applyLora(model, { target_modules: 'all-linear', r: 4, lora_alpha: 8 });
  assert.deepEqual(s.adapted.map((n) => n.replace('transformer.', '')), JSON.parse(readFileSync(fixturePath('gpt2-tiny', 'cases.json'), 'utf8')).lora.adapted_modules);
  assert.equal(adapted(model).length, 8);
});
