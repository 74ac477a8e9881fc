// The quantized weight types a GEMM takes as B (--base-quant), one switch over their formats:
// ggml's Q8_0 / Q4_0 (formats/ggml_quant.ts) and bitsandbytes' NF4 (formats/nf4.ts).
import { dequantize, quantBytes, type QuantType } from '../formats/ggml_quant.js';
import { dequantizeNf4, nf4Bytes, NF4_ABSMAX_BLOCK, NF4_BLOCK } from '../formats/nf4.js';
import type { QuantWeight } from './backend.js';
import { backend } from './select.js';

export type QuantDType = QuantWeight['dtype'];

/** Whether a [rows, cols] tensor stored row-major can be kept in dtype: ggml blocks lie within rows, NF4's run over the flattened tensor. */
export function quantizable(dtype: QuantDType, rows: number, cols: number): boolean {
  return dtype === 'NF4' ? (rows * cols) % NF4_BLOCK === 0 && rows * cols > 0 : cols % 32 === 0;
}

/** Why quantizable said no, for an error message. */
export function quantShapeRule(dtype: QuantDType): string {
  return dtype === 'NF4' ? `a whole number of ${NF4_BLOCK}-value NF4 blocks` : `rows of whole 32-value ${dtype} blocks`;
}

/** x (a stored row-major tensor, flattened) in dtype, quantized by the backend (native: across threads). */
export function quantizeWeight(dtype: QuantDType, x: Float32Array, transposed: boolean): QuantWeight {
  if (dtype !== 'NF4') return { dtype, blocks: quantizeGgmlBlocks(dtype, x), transposed };
  const n = x.length;
  if (n % NF4_BLOCK !== 0 || n === 0) throw new Error(`quantizeNf4: ${n} values is not a whole number of ${NF4_BLOCK}-value NF4 blocks`);
  const blocks = new Uint8Array(n / 2), absmaxCodes = new Uint8Array(n / NF4_BLOCK);
  const absmax2 = new Float32Array(Math.ceil(n / NF4_BLOCK / NF4_ABSMAX_BLOCK));
  const offset = backend().quantizeNf4(blocks, absmaxCodes, absmax2, x, n);
  return { dtype, blocks, absmaxCodes, absmax2, offset, transposed };
}

/** x (n a multiple of 32) in ggml's Q8_0 / Q4_0 blocks, quantized by the backend (GGUF export, --base-quant). */
export function quantizeGgmlBlocks(type: QuantType, x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new Error(`quantize${type}: ${x.length} values is not a whole number of 32-value blocks`);
  const out = new Uint8Array(quantBytes(type, x.length));
  backend().quantizeGgml(out, x, x.length, type === 'Q4_0');
  return out;
}

/** The n stored values as f32, exactly as the kernels dequantize them. */
export function dequantizeWeight(w: QuantWeight, n: number, out?: Float32Array<ArrayBuffer>): Float32Array {
  return w.dtype === 'NF4' ? dequantizeNf4(w, n, out) : dequantize(w.dtype, w.blocks, n, out);
}

/** Bytes a weight of n values takes in dtype. */
export function quantWeightBytes(dtype: QuantDType, n: number): number {
  return dtype === 'NF4' ? nf4Bytes(n) : quantBytes(dtype, n);
}

/** Bytes w holds (to check it against the tensor it is stored for). */
export function heldBytes(w: QuantWeight): number {
  return w.dtype === 'NF4' ? w.blocks.length + w.absmaxCodes.length + 4 * w.absmax2.length : w.blocks.length;
}
