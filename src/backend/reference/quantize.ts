// Quantizing f32 weights to ggml's Q8_0 / Q4_0 and bitsandbytes' NF4: the format modules' own
// functions (formats/ggml_quant.ts, formats/nf4.ts) are the spec; this copies their result out.
import type { F32 } from '../backend.js';
import { quantBytes, quantize } from '../../formats/ggml_quant.js';
import { quantizeNf4 as quantizeNf4Spec, nf4Bytes, NF4_ABSMAX_BLOCK, NF4_BLOCK } from '../../formats/nf4.js';

/** x[0:n] -> n/32 Q8_0 blocks, or Q4_0 blocks when q4, in out. */
export function quantizeGgml(out: Uint8Array, x: F32, n: number, q4: boolean): void {
  const type = q4 ? 'Q4_0' : 'Q8_0';
  if (n % 32 === 0 && out.length < quantBytes(type, n)) throw new Error(`quantizeGgml: out has ${out.length} bytes, ${n} ${type} values need ${quantBytes(type, n)}`);
  out.set(quantize(type, x.subarray(0, n)));
}

/** x[0:n] -> NF4 with double quantization in blocks [n/2], absmaxCodes [n/64], absmax2 [ceil(n/64/256)]; returns the offset. */
export function quantizeNf4(blocks: Uint8Array, absmaxCodes: Uint8Array, absmax2: F32, x: F32, n: number): number {
  const q = quantizeNf4Spec(x.subarray(0, n));
  const nb = n / NF4_BLOCK;
  if (blocks.length < n / 2 || absmaxCodes.length < nb || absmax2.length < Math.ceil(nb / NF4_ABSMAX_BLOCK)) {
    throw new Error(`quantizeNf4: outputs of ${blocks.length} + ${absmaxCodes.length} bytes and ${absmax2.length} scales are too small for ${n} NF4 values (${nf4Bytes(n)} bytes)`);
  }
  blocks.set(q.blocks);
  absmaxCodes.set(q.absmaxCodes);
  absmax2.set(q.absmax2);
  return q.offset;
}
