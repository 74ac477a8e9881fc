// Reference activations, forward and backward (backward accumulates into dx).
import type { F32 } from '../backend.js';

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** GPT-2's gelu_new (the tanh form): out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluForward(out: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    out[i] = 0.5 * xi * (1 + Math.tanh(GELU_K * (xi + GELU_C * xi * xi * xi)));
  }
}

/** dx += dout * gelu'(x). */
export function geluBackward(dx: F32, dout: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const t = Math.tanh(GELU_K * (xi + GELU_C * xi * xi * xi));
    const dudx = GELU_K * (1 + 3 * GELU_C * xi * xi);
    dx[i] += dout[i] * (0.5 * (1 + t) + 0.5 * xi * (1 - t * t) * dudx);
  }
}

/** silu(x) = x * sigmoid(x). */
export function siluForward(out: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] / (1 + Math.exp(-x[i]));
}

/** dx += dout * sigmoid(x) * (1 + x (1 - sigmoid(x))). */
export function siluBackward(dx: F32, dout: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = 1 / (1 + Math.exp(-x[i]));
    dx[i] += dout[i] * s * (1 + x[i] * (1 - s));
  }
}

export function erf(x: number): number {
  // Math has no erf: a series for small |x|, a continued fraction of erfc for large |x| (double precision).
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)); converges fast below 2.5.
    let term = ax, sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz-free backward evaluation)
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + (k / 2) / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** BERT's gelu: out = 0.5 x (1 + erf(x / sqrt(2))). */
export function geluErfForward(out: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
}

/** dx += dout * (Phi(x) + x phi(x)). */
export function geluErfBackward(dx: F32, dout: F32, x: F32, n: number): void {
  const c = 1 / Math.sqrt(2 * Math.PI);
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    dx[i] += dout[i] * (0.5 * (1 + erf(xi * Math.SQRT1_2)) + xi * c * Math.exp(-0.5 * xi * xi));
  }
}

export function tanhForward(out: F32, x: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
}

/** dx += dout * (1 - y^2), y = tanh(x) the forward's output. */
export function tanhBackward(dx: F32, dout: F32, y: F32, n: number): void {
  for (let i = 0; i < n; i++) dx[i] += dout[i] * (1 - y[i] * y[i]);
}
