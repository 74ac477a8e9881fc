// Reference RMSNorm (Hugging Face's LlamaRMSNorm): out = x * rsqrt(mean(x^2) + eps) * weight.
import type { F32 } from '../backend.js';

export function rmsNormForward(out: F32, rstd: F32, x: F32, weight: F32, rows: number, cols: number, eps: number): void {
  // out, x: [rows, cols]; rstd: [rows]; weight: [cols]
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[o + c] * x[o + c];
    const s = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) out[o + c] = x[o + c] * s * weight[c];
    rstd[r] = s;
  }
}

/** dx, dweight += the gradients: with n = x * rstd and dn = dout * weight, dx = rstd (dn - n mean(dn n)). */
export function rmsNormBackward(dx: F32, dweight: F32, dout: F32, x: F32, rstd: F32, weight: F32,
  rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const s = rstd[r];
    let dnNormMean = 0;
    for (let c = 0; c < cols; c++) dnNormMean += dout[o + c] * weight[c] * x[o + c] * s;
    dnNormMean /= cols;
    for (let c = 0; c < cols; c++) {
      const norm = x[o + c] * s;
      dweight[c] += dout[o + c] * norm;
      dx[o + c] += s * (dout[o + c] * weight[c] - norm * dnNormMean);
    }
  }
}
