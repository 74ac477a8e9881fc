// Golden-fixture runner for models with a task head (test/fixtures/enc, made by the real HF classes):
// logits (real tokens only: padding positions' outputs are never read), loss, every gradient, two AdamW
// steps, and for sequence classifiers PEFT's LoRA (SEQ_CLS, head in modules_to_save) loss and gradients.
import { test } from 'node:test';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadAdapter, saveAdapter } from '../../src/lora/adapter.js';
import { loadSafetensors } from '../../src/formats/safetensors.js';
import assert from 'node:assert/strict';
import { loadTaskModel } from '../../src/models/load_task.js';
import { taskLoss } from '../../src/train/task_losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { noGrad } from '../../src/tensor/tape.js';
import type { TaskInput, TaskModel } from '../../src/models/task_model.js';
import { expectClose } from '../helpers/close.js';
import { expectAfterAdamW, expectGradients } from '../helpers/golden_params.js';
import { fixtureCases, fixturePath, fixtureTensors } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

export function taskFixtureInput(cases: any): { input: TaskInput; labels: Int32Array } {
  const ids2d: number[][] = cases.input_ids;
  const [B, T] = [ids2d.length, ids2d[0].length];
  return {
    input: {
      ids: Int32Array.from(ids2d.flat()), batch: B, seqLen: T,
      attentionMask: Int32Array.from((cases.attention_mask as number[][]).flat()),
      tokenTypeIds: cases.token_type_ids ? Int32Array.from((cases.token_type_ids as number[][]).flat()) : null,
    },
    labels: Int32Array.from((cases.labels as number[] | number[][]).flat()),
  };
}

/** Logits at real tokens only (per-position outputs), or all of them (one row per sequence). */
export function realLogits(model: TaskModel, logits: ArrayLike<number>, input: TaskInput): number[] {
  if (model.task === 'seq_cls') return Array.from(logits);
  const L = logits.length / (input.batch * input.seqLen);
  const out: number[] = [];
  for (let i = 0; i < input.batch * input.seqLen; i++) {
    if (input.attentionMask![i]) for (let j = 0; j < L; j++) out.push(logits[i * L + j]);
  }
  return out;
}

export function runTaskFixtureSuite(name: string): void {
  const dir = `enc/${name}`;
  const cases = fixtureCases(dir);
  const tol = cases.tolerances;
  const { input, labels } = taskFixtureInput(cases);
  const load = () => loadTaskModel(fixturePath(dir)).model;

  test(`${name}: logits and loss match PyTorch`, () => {
    const model = load().eval();
    noGrad(() => {
      const logits = model.forward(input);
      const want = fixtureTensors(dir, 'cases.safetensors').get('logits')!.data;
      expectClose('logits', realLogits(model, logits.data, input), realLogits(model, want, input), { atol: tol.logits_atol, rtol: 0 });
      const loss = taskLoss(model, logits, labels).item();
      assert.ok(Math.abs(loss - cases.loss) <= tol.loss_atol, `loss ${loss} vs ${cases.loss}`);
    });
  });

  test(`${name}: every gradient`, () => {
    const model = load().eval();
    taskLoss(model, model.forward(input), labels).backward();
    expectGradients(model, fixtureTensors(dir, 'grads.safetensors'), { atol: tol.grads_atol, rtol: tol.grads_rtol });
  });

  test(`${name}: two AdamW steps`, () => {
    const model = load().eval();
    const t = cases.train;
    // The decoder runner's rule (fixture_runner.ts): an element whose reference gradient is below 1e-6
    // (a key bias: softmax ignores it, so its gradient is rounding noise) got a noise-decided Adam step.
    const refGrads = fixtureTensors(dir, 'grads.safetensors');
    const opt = new AdamW(model.parameters(), { lr: t.lr, betas: t.betas, eps: t.eps, weightDecay: t.weight_decay });
    for (let step = 0; step < 2; step++) {
      const loss = taskLoss(model, model.forward(input), labels);
      assert.ok(Math.abs(loss.item() - t.losses[step]) <= tol.loss_atol, `step ${step} loss ${loss.item()} vs ${t.losses[step]}`);
      loss.backward();
      opt.stepUpdate();
      opt.zeroGrad();
      expectAfterAdamW(model, fixtureTensors(dir, `after${step + 1}.safetensors`), refGrads, step,
        { atol: tol.adamw_atol, unstableBelow: 1e-6, unstableAtol: 2.5e-3 * (step + 1), countZeroUnstable: true });
    }
  });
}

/** PEFT's LoRA (SEQ_CLS, classifier in modules_to_save) adapter as PEFT saved it: logits, loss, gradients, and a save that round-trips. */
export function runTaskLoraFixture(name: string): void {
  const dir = `enc/${name}`;
  const cases = fixtureCases(dir);
  const tol = cases.tolerances;
  const { input, labels } = taskFixtureInput(cases);
  test(`${name}: PEFT LoRA with modules_to_save: logits, loss, gradients, save round trip`, () => {
    const model = loadTaskModel(fixturePath(dir)).model.eval();
    loadAdapter(model, fixturePath(dir, 'lora'), { trainable: true });
    const logits = model.forward(input);
    expectClose('lora logits', logits.data, fixtureTensors(dir, 'lora', 'lora_cases.safetensors').get('logits')!.data, { atol: tol.logits_atol, rtol: 0 });
    const loss = taskLoss(model, logits, labels);
    assert.ok(Math.abs(loss.item() - cases.lora.loss) <= tol.loss_atol, `lora loss ${loss.item()} vs ${cases.lora.loss}`);
    loss.backward();
    // PEFT's parameter names: base_model.model.<module>.lora_A.default.weight, <head>.modules_to_save.default.<p>.
    const ours = new Map(model.namedParameters().filter(([, p]) => p.requiresGrad));
    const grads = fixtureTensors(dir, 'lora', 'lora_grads.safetensors');
    assert.equal(ours.size, grads.size, `trainable parameters: ${[...ours.keys()].join(', ')}`);
    for (const [key, g] of grads) {
      const n = key.replace(/^base_model\.model\./, '').replace('.modules_to_save.default.', '.').replace('.default.', '.');
      assert.ok(ours.has(n), `no trainable parameter ${n} (PEFT's ${key})`);
      expectClose(`lora grad ${n}`, ours.get(n)!.grad!, g.data, { atol: tol.grads_atol, rtol: tol.grads_rtol });
    }
    // Saved back: the same keys and values PEFT wrote.
    const out = tempDir('enc-lora-');
    try {
      saveAdapter(model, out);
      const mine = loadSafetensors(join(out, 'adapter_model.safetensors')).tensors;
      const peft = loadSafetensors(fixturePath(dir, 'lora', 'adapter_model.safetensors')).tensors;
      assert.deepEqual([...mine.keys()].sort(), [...peft.keys()].sort());
      for (const [k, t] of peft) expectClose(`saved ${k}`, mine.get(k)!.data as Float32Array, t.data as Float32Array, { atol: 0, rtol: 0 });
      const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
      assert.deepEqual(cfg.modules_to_save, cases.lora.modules_to_save);
      assert.equal(cfg.task_type, 'SEQ_CLS');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
