// Finite-difference gradient checks through the Tensor API: loss = sum(f(inputs) * w) for fixed
// random w; analytic gradients from backward() against central differences.
import { Tensor } from '../../src/tensor/tensor.js';
import { noGrad } from '../../src/tensor/tape.js';
import { mul } from '../../src/tensor/ops/elementwise.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { expectClose, rng } from './close.js';

export function gradcheck(name: string, f: (xs: Tensor[]) => Tensor, inputs: Float32Array[], shapes: number[][],
  { eps = 1e-2, atol = 2e-3, rtol = 2e-2, seed = 7 } = {}): void {
  const r = rng(seed);
  let w: Float32Array | null = null;
  const lossOf = (xs: Tensor[]) => {
    const out = f(xs);
    if (!w) w = r.f32(out.size);
    return sum(mul(out, Tensor.from(w, out.shape)));
  };
  const xs = inputs.map((d, i) => Tensor.from(d, shapes[i], true));
  lossOf(xs).backward();
  const analytic = xs.map((x) => Float32Array.from(x.grad ?? new Float32Array(x.size)));
  for (let i = 0; i < inputs.length; i++) {
    const numeric = new Float32Array(inputs[i].length);
    for (let j = 0; j < inputs[i].length; j++) {
      const orig = inputs[i][j];
      const at = (v: number) => noGrad(() => {
        inputs[i][j] = v;
        return lossOf(inputs.map((d, k) => Tensor.from(d, shapes[k]))).item();
      });
      numeric[j] = (at(orig + eps) - at(orig - eps)) / (2 * eps);
      inputs[i][j] = orig;
    }
    expectClose(`${name}: d/d input ${i}`, analytic[i], numeric, { atol, rtol });
  }
}
