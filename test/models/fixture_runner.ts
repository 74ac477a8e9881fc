// One golden-fixture runner for every architecture (mlx-lm's model_test_runner): logits, losses,
// every gradient, two AdamW steps, the loss trajectory, and greedy generation with and without cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load.js';
import { causalLMLoss, causalLMModelLoss } from '../../src/train/losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { noGrad } from '../../src/tensor/tape.js';
import { expectClose } from '../helpers/close.js';
import { expectAfterAdamW, expectGradients } from '../helpers/golden_params.js';
import { checkGreedyGeneration, fixtureCases, fixturePath, fixtureTensors } from '../helpers/fixtures.js';

export function runFixtureSuite(name: string): void {
  const cases = fixtureCases(name);
  const tol = cases.tolerances;
  const arrays = fixtureTensors(name, 'cases.safetensors');
  const ids2d: number[][] = cases.forward.input_ids;
  const [B, T] = [ids2d.length, ids2d[0].length];
  const ids = Int32Array.from(ids2d.flat());
  const load = () => loadModel(fixturePath(name)).model;

  test(`${name}: logits match PyTorch`, () => {
    const model = load().eval();
    const logits = noGrad(() => Float32Array.from(model.forward(ids, B, T).data));
    expectClose('logits', logits, arrays.get('logits')!.data, { atol: tol.logits_atol, rtol: 0 });
  });

  test(`${name}: loss and masked loss`, () => {
    const model = load().eval();
    noGrad(() => {
      const loss = causalLMLoss(model.forward(ids, B, T), ids, B, T).item();
      assert.ok(Math.abs(loss - cases.loss.value) <= tol.loss_atol, `loss ${loss} vs ${cases.loss.value}`);
      const masked = Int32Array.from((cases.loss_masked.labels as number[][]).flat());
      const lm = causalLMLoss(model.forward(ids, B, T), masked, B, T).item();
      assert.ok(Math.abs(lm - cases.loss_masked.value) <= tol.loss_atol, `masked loss ${lm} vs ${cases.loss_masked.value}`);
    });
  });

  test(`${name}: every gradient`, () => {
    const model = load().eval();
    causalLMModelLoss(model, ids, ids, B, T).backward();
    expectGradients(model, fixtureTensors(name, 'grads.safetensors'), { atol: tol.grads_atol, rtol: tol.grads_rtol });
  });

  test(`${name}: two AdamW steps and the loss trajectory`, () => {
    const model = load().eval();
    const t = cases.train;
    const opt = new AdamW(model.parameters(), { lr: t.lr, betas: t.betas, eps: t.eps, weightDecay: t.weight_decay });
    const traj: number[] = [];
    // The README's rule: elements whose reference gradient (grads.safetensors) is nonzero but below
    // 1e-6 got a noise-decided first Adam step, so both after1 and after2 compare them loosely.
    const refGrads = fixtureTensors(name, 'grads.safetensors');
    for (let step = 0; step < 5; step++) {
      const loss = causalLMModelLoss(model, ids, ids, B, T);
      traj.push(loss.item());
      loss.backward();
      opt.stepUpdate();
      opt.zeroGrad();
      if (step < 2) {
        expectAfterAdamW(model, fixtureTensors(name, `after${step + 1}.safetensors`), refGrads, step,
          { atol: tol.adamw_atol, unstableBelow: tol.adamw_unstable_grad_below, unstableAtol: tol.adamw_unstable_atol });
      }
    }
    expectClose('loss trajectory', traj, t.loss_trajectory.slice(0, 5), { atol: tol.loss_atol, rtol: 0 });
  });

  test(`${name}: greedy generation, with and without the KV cache`, () => {
    const model = load();
    const prompt: number[] = cases.generate.prompt_ids[0];
    const want: number[] = cases.generate.new_tokens;
    checkGreedyGeneration(model, prompt, want, arrays.get('gen_step_logits')!.data, tol.logits_atol);
  });
}
