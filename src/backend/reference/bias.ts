// Reference bias kernels: the bias add of a Linear layer and its gradient (a column sum).
import type { F32 } from '../backend.js';

/** out[r,c] += bias[c]; out [rows, cols], bias [cols]. */
export function addBias(out: F32, bias: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[o + c] += bias[c];
  }
}

/** out[c] += sum over r of x[r,c]; x [rows, cols], out [cols]. */
export function sumRows(out: F32, x: F32, rows: number, cols: number): void {
  for (let c = 0; c < cols; c++) {
    // float32 sum in row order, as the native kernel does (each column is its own chain)
    let s = 0;
    for (let r = 0; r < rows; r++) s = Math.fround(s + x[r * cols + c]);
    out[c] += s;
  }
}
