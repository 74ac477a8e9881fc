// Parameter-by-parameter checks against a PyTorch fixture's gradients and AdamW steps, shared by the
// decoder runner (fixture_runner.ts) and the task-head runner (task_fixture_runner.ts).
import assert from 'node:assert/strict';
import type { Module } from '../../src/nn/module.js';
import { expectClose } from './close.js';

type Tensors = Map<string, { data: ArrayLike<number> }>;

/** Every parameter's gradient equals the fixture's (one gradient per parameter, none missing). */
export function expectGradients(model: Module, grads: Tensors, tol: { atol: number; rtol: number }): void {
  const params = new Map(model.namedParameters());
  assert.equal(params.size, grads.size, 'one gradient per parameter');
  for (const [key, g] of grads) {
    const p = params.get(key);
    assert.ok(p, `no parameter for gradient ${key}`);
    expectClose(`grad ${key}`, p.grad!, g.data, { atol: tol.atol, rtol: tol.rtol });
  }
}

/**
 * Weights after AdamW step `step` (0-based) equal the fixture's `after`. An element whose reference
 * gradient is nonzero-tiny (below unstableBelow: e.g. a key bias, which softmax ignores, so its
 * gradient is rounding noise) got a noise-decided first step and is compared with unstableAtol; a
 * noise-decided element of step 1 moves every step-2 gradient a little, so step 2's stable elements
 * get 3x the atol (mistral-tiny natively: 1.3e-5 from one such element).
 */
export function expectAfterAdamW(model: Module, after: Tensors, refGrads: Tensors, step: number,
  tol: { atol: number; unstableBelow: number; unstableAtol: number; countZeroUnstable?: boolean }): void {
  for (const [key, p] of model.namedParameters()) {
    const want = after.get(key)!.data, g = refGrads.get(key)!.data;
    for (let i = 0; i < p.size; i++) {
      const unstable = (tol.countZeroUnstable || g[i] !== 0) && Math.abs(g[i]) < tol.unstableBelow;
      const atol = unstable ? tol.unstableAtol : tol.atol * (step === 0 ? 1 : 3);
      if (!(Math.abs(p.data[i] - want[i]) <= atol)) {
        assert.fail(`after${step + 1} ${key}[${i}] = ${p.data[i]}, expected ${want[i]} (grad ${g[i]}, atol ${atol})`);
      }
    }
  }
}
