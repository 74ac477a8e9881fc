// Widening f16 / bf16 checkpoint values to f32: the spec for native/src/kernels/convert.cc.
import { bf16ToF32, f16ToF32 } from '../../formats/dtype.js';

/** out[i] = src[i] as f32 for i < n; src holds f16 bit patterns, or bf16 when bf16 is true. */
export function halfToF32(out: Float32Array, src: Uint16Array, n: number, bf16: boolean): void {
  const o = out.subarray(0, n) as Float32Array<ArrayBuffer>;
  if (bf16) bf16ToF32(src.subarray(0, n), o);
  else f16ToF32(src.subarray(0, n), o);
}
