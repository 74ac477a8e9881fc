// Finite-difference gradient checks in float64. The reference kernels are plain indexed loops, so they
// run unchanged on Float64Array buffers (asF32 only satisfies the types): the check then measures the
// math of the backward, not float32 rounding.
import { expectClose, type Tolerance } from './close.js';

/** A Float64Array typed as the Float32Array the kernels declare (reference kernels only). */
export function asF32(a: Float64Array): Float32Array {
  return a as unknown as Float32Array;
}

export function f64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

/**
 * Checks analytic[k] = dL/d inputs[wrt[k]] for L = sum(forward(inputs) * dout), by central differences
 * with step h on every element (keep the inputs small).
 */
export function gradcheck(name: string, inputs: Float64Array[], wrt: number[], forward: (xs: Float64Array[]) => Float64Array,
  dout: Float64Array, analytic: Float64Array[], { h = 1e-5, atol = 1e-7, rtol = 1e-6 }: { h?: number } & Tolerance = {}): void {
  const loss = () => {
    const y = forward(inputs);
    let s = 0;
    for (let i = 0; i < dout.length; i++) s += y[i] * dout[i];
    return s;
  };
  wrt.forEach((k, j) => {
    const x = inputs[k];
    const fd = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + h;
      const lp = loss();
      x[i] = keep - h;
      const lm = loss();
      x[i] = keep;
      fd[i] = (lp - lm) / (2 * h);
    }
    expectClose(`${name}: d/d input ${k}`, analytic[j], fd, { atol, rtol });
  });
}
