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
