// One LoRA golden-fixture runner for every architecture (<fixture>/lora, written in PEFT's format):
// adapter logits, loss and greedy generation, LoRA-only gradients and AdamW, merge, and file round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/models/load.js';
import { causalLMLoss, causalLMModelLoss } from '../../src/train/losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { noGrad } from '../../src/tensor/tape.js';
import { loadAdapter, saveAdapter } from '../../src/lora/adapter.js';
import { loraModules, loraParameters, mergeLora, unmergeLora } from '../../src/lora/inject.js';
import { mergeAdapter } from '../../src/lora/merge.js';
import { PEFT_KEY_PREFIX } from '../../src/formats/peft_adapter.js';
import { loadSafetensors } from '../../src/formats/safetensors.js';
import { expectClose } from '../helpers/close.js';
import { checkGreedyGeneration, fixtureCases, fixturePath, fixtureTensors } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

/**
 * peftWroteConfig: adapter_config.json came from PEFT's save_pretrained (newer PEFT writes more keys
 * than gptune). bf16Base: the base checkpoint is bf16, so the merged file is too (one bf16 rounding).
 */
export function runLoraFixtureSuite(name: string, opts: { peftWroteConfig?: boolean; bf16Base?: boolean } = {}): void {
  const cases = fixtureCases(name);
  const lo = cases.lora;
  const tol = cases.tolerances;
  const arrays = fixtureTensors(name, 'lora', 'cases.safetensors');
  const ids2d: number[][] = cases.forward.input_ids;
  const [B, T] = [ids2d.length, ids2d[0].length];
  const ids = Int32Array.from(ids2d.flat());
  const baseDir = fixturePath(name);
  const adapterDir = fixturePath(name, 'lora');
  const load = (trainable = false) => {
    const model = loadModel(baseDir).model.eval(); // the fixtures are computed without dropout
    const summary = loadAdapter(model, adapterDir, { trainable });
    return { model, summary };
  };
  const logitsOf = (model: ReturnType<typeof load>['model']) => noGrad(() => Float32Array.from(model.forward(ids, B, T).data));
  const tmp = (tag: string) => tempDir(`${name}-${tag}-`);

  test(`${name} + LoRA: the PEFT adapter loads onto the modules the fixture adapted`, () => {
    const { model, summary } = load();
    const want: string[] = lo.adapted_modules;
    assert.equal(summary.adapted.length, want.length);
    summary.adapted.forEach((n, i) => assert.ok(n === want[i] || n.endsWith('.' + want[i]), `${n} vs ${want[i]}`));
    for (const [, m] of loraModules(model)) {
      assert.equal(m.r, lo.r);
      assert.equal(m.scaling, lo.scaling);
    }
    assert.equal(summary.trainableParams, 0, 'loaded for inference: nothing trains');
  });

  test(`${name} + LoRA: logits and loss match PyTorch`, () => {
    const { model } = load();
    expectClose('adapter logits', logitsOf(model), arrays.get('logits')!.data, { atol: tol.logits_atol, rtol: 0 });
    const loss = noGrad(() => causalLMLoss(model.forward(ids, B, T), ids, B, T).item());
    assert.ok(Math.abs(loss - lo.loss) <= tol.loss_atol, `loss ${loss} vs ${lo.loss}`);
  });

  test(`${name} + LoRA: greedy generation, with and without the KV cache`, () => {
    const { model } = load();
    const prompt: number[] = cases.generate.prompt_ids[0];
    const want: number[] = lo.new_tokens;
    checkGreedyGeneration(model, prompt, want, arrays.get('gen_step_logits')!.data, tol.logits_atol);
  });

  test(`${name} + LoRA: gradients reach lora_A / lora_B only`, () => {
    const { model } = load(true);
    causalLMModelLoss(model, ids, ids, B, T).backward();
    const grads = fixtureTensors(name, 'lora', 'grads.safetensors');
    const lora = new Set(loraParameters(model));
    let checked = 0;
    for (const [pname, p] of model.namedParameters()) {
      if (!lora.has(p)) {
        assert.equal(p.requiresGrad, false, `${pname} must be frozen`);
        assert.equal(p.grad, null, `${pname} must have no gradient buffer`);
        continue;
      }
      const g = grads.get(PEFT_KEY_PREFIX + pname);
      assert.ok(g, `no reference gradient for ${pname}`);
      expectClose(`grad ${pname}`, p.grad!, g.data, { atol: tol.grads_atol, rtol: tol.grads_rtol });
      checked++;
    }
    assert.equal(checked, grads.size, 'one gradient per LoRA factor');
  });

  test(`${name} + LoRA: AdamW on the LoRA factors only, one step and the loss trajectory`, () => {
    const { model } = load(true);
    const t = cases.train;
    // All parameters are offered; the frozen ones must be dropped by the optimizer.
    const opt = new AdamW(model.parameters(), { lr: t.lr, betas: t.betas, eps: t.eps, weightDecay: t.weight_decay });
    const refGrads = fixtureTensors(name, 'lora', 'grads.safetensors');
    const after1 = fixtureTensors(name, 'lora', 'after1.safetensors');
    const traj: number[] = [];
    for (let step = 0; step < 5; step++) {
      const loss = causalLMModelLoss(model, ids, ids, B, T);
      traj.push(loss.item());
      loss.backward();
      opt.stepUpdate();
      opt.zeroGrad();
      if (step === 0) {
        for (const [pname, p] of model.namedParameters()) {
          const want = after1.get(PEFT_KEY_PREFIX + pname);
          if (!want) continue;
          const g = refGrads.get(PEFT_KEY_PREFIX + pname)!.data;
          // The README's rule: a nonzero reference gradient below 1e-6 makes Adam's first step noise-decided.
          for (let i = 0; i < p.size; i++) {
            const atol = g[i] !== 0 && Math.abs(g[i]) < tol.adamw_unstable_grad_below ? tol.adamw_unstable_atol : tol.adamw_atol;
            if (!(Math.abs(p.data[i] - want.data[i]) <= atol)) assert.fail(`after1 ${pname}[${i}] = ${p.data[i]}, expected ${want.data[i]} (grad ${g[i]}, atol ${atol})`);
          }
        }
      }
    }
    expectClose('LoRA loss trajectory', traj, lo.loss_trajectory.slice(0, 5), { atol: tol.loss_atol, rtol: 0 });
    const lora = new Set(loraParameters(model));
    for (const [pname, p] of model.namedParameters()) {
      if (lora.has(p)) assert.ok(opt.stateOf(p), `${pname}: AdamW state expected`);
      else {
        assert.equal(opt.stateOf(p), null, `${pname}: no AdamW state for a frozen parameter`);
        assert.equal(p.grad, null, `${pname}: no gradient buffer`);
      }
    }
  });

  test(`${name} + LoRA: in-memory merge gives the adapter's logits; unmerge restores the base`, () => {
    const { model } = load();
    const before = new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.data)]));
    mergeLora(model);
    expectClose('merged logits', logitsOf(model), arrays.get('logits')!.data, { atol: tol.merged_vs_adapter_logits_atol, rtol: 0 });
    unmergeLora(model);
    for (const [n, p] of model.namedParameters()) expectClose(`unmerged ${n}`, p.data, before.get(n)!, { atol: 1e-6, rtol: 0 });
    expectClose('unmerged logits', logitsOf(model), arrays.get('logits')!.data, { atol: tol.logits_atol, rtol: 0 });
  });

  test(`${name} + LoRA: mergeAdapter writes the fixture's merged checkpoint`, () => {
    const out = join(tmp('merge'), 'merged');
    try {
      const r = mergeAdapter(baseDir, adapterDir, out);
      const dtype = opts.bf16Base ? 'BF16' : 'F32';
      assert.equal(r.dtype, dtype);
      assert.equal(r.adapted.length, lo.adapted_modules.length);
      const got = loadSafetensors(join(out, 'model.safetensors')).tensors;
      const want = fixtureTensors(name, 'lora', 'merged.safetensors');
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [k, w] of want) {
        assert.equal(got.get(k)!.dtype, dtype);
        // bf16 keeps 8 significant bits: the saved value is the f32 merge rounded once.
        expectClose(`merged ${k}`, got.get(k)!.data as Float32Array, w.data, opts.bf16Base ? { atol: tol.merged_atol, rtol: 2 ** -8 } : { atol: tol.merged_atol, rtol: 0 });
      }
      if (opts.bf16Base) return; // its logits carry the rounding; the in-memory merge test covers them
      const merged = loadModel(out).model.eval();
      expectClose('merged-model logits', logitsOf(merged), arrays.get('logits')!.data, { atol: tol.merged_vs_adapter_logits_atol, rtol: 0 });
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  });

  test(`${name} + LoRA: saving the loaded adapter reproduces PEFT's files; a re-save is byte-identical`, () => {
    const dir1 = tmp('save1'), dir2 = tmp('save2');
    try {
      saveAdapter(load().model, dir1);
      const fixtureWeights = readFileSync(join(adapterDir, 'adapter_model.safetensors'));
      assert.ok(readFileSync(join(dir1, 'adapter_model.safetensors')).equals(fixtureWeights), 'adapter_model.safetensors differs from PEFT\'s bytes');
      // PEFT writes json.dumps(indent=2, sort_keys=True) without a final newline (the fixture script added one).
      if (!opts.peftWroteConfig) assert.equal(readFileSync(join(dir1, 'adapter_config.json'), 'utf8'), readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8').trimEnd());
      const model2 = loadModel(baseDir).model.eval();
      loadAdapter(model2, dir1);
      saveAdapter(model2, dir2);
      for (const f of ['adapter_model.safetensors', 'adapter_config.json']) {
        assert.ok(readFileSync(join(dir1, f)).equals(readFileSync(join(dir2, f))), `${f}: re-save differs`);
      }
      expectClose('reloaded logits', logitsOf(model2), arrays.get('logits')!.data, { atol: tol.logits_atol, rtol: 0 });
    } finally {
      rmSync(dir1, { recursive: true, force: true });
      rmSync(dir2, { recursive: true, force: true });
    }
  });
}
