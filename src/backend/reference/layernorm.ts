// Reference LayerNorm over the last dim (PyTorch semantics: biased variance, eps inside the sqrt).
// Forward saves mean and rstd per row; backward is two row reductions and one pass (llm.c's form).
import type { F32 } from '../backend.js';

export function layerNormForward(out: F32, mean: F32, rstd: F32, x: F32, weight: F32, bias: F32,
  rows: number, cols: number, eps: number): void {
  // out, x: [rows, cols]; mean, rstd: [rows]; weight, bias: [cols]
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = 0;
    for (let c = 0; c < cols; c++) m += x[o + c];
    m /= cols;
    let v = 0;
    for (let c = 0; c < cols; c++) { const d = x[o + c] - m; v += d * d; }
    v /= cols;
    const s = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < cols; c++) out[o + c] = (x[o + c] - m) * s * weight[c] + bias[c];
    mean[r] = m;
    rstd[r] = s;
  }
}

/** dx, dweight, dbias += the gradients; norm = (x - mean) * rstd is recomputed from the saved stats. */
export function layerNormBackward(dx: F32, dweight: F32, dbias: F32, dout: F32, x: F32, mean: F32, rstd: F32,
  weight: F32, rows: number, cols: number): void {
  // dx, dout, x: [rows, cols]; mean, rstd: [rows]; dweight, dbias, weight: [cols]
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const m = mean[r], s = rstd[r];
    // the two reductions: mean(dnorm) and mean(dnorm * norm), with dnorm = dout * weight
    let dnormMean = 0, dnormNormMean = 0;
    for (let c = 0; c < cols; c++) {
      const norm = (x[o + c] - m) * s;
      const dnorm = dout[o + c] * weight[c];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= cols;
    dnormNormMean /= cols;
    for (let c = 0; c < cols; c++) {
      const norm = (x[o + c] - m) * s;
      const dnorm = dout[o + c] * weight[c];
      dbias[c] += dout[o + c];
      dweight[c] += norm * dout[o + c];
      dx[o + c] += (dnorm - dnormMean - norm * dnormNormMean) * s;
    }
  }
}
