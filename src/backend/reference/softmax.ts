// Reference softmax over the last dim, with the max subtracted for range.
import type { F32 } from '../backend.js';

export function softmaxForward(out: F32, x: F32, rows: number, cols: number): void {
  // out, x: [rows, cols]
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[o + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[o + c] - max);
    for (let c = 0; c < cols; c++) out[o + c] = Math.exp(x[o + c] - max) / sum;
  }
}

/** dx += out * (dout - sum(dout * out)), from the saved forward output. */
export function softmaxBackward(dx: F32, dout: F32, out: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dout[o + c] * out[o + c];
    for (let c = 0; c < cols; c++) dx[o + c] += out[o + c] * (dout[o + c] - dot);
  }
}
