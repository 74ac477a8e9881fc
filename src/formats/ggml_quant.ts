// ggml's Q8_0 and Q4_0 block layouts, the one home of both: GGUF export writes these bytes and
// --base-quant keeps frozen weights in them, so a quantized base exports as it is. Written from
// ggml-quants.c (quantize_row_q8_0_ref, quantize_row_q4_0_ref, dequantize_row_q{8,4}_0).
import { f16ToF32, f32BitsToF16 } from './dtype.js';

export type QuantType = 'Q8_0' | 'Q4_0';

/** Values per block and bytes per block (an f16 scale, then the quants). */
export const QUANT_BLOCK = {
  Q8_0: { elems: 32, bytes: 34 },   // d: f16, qs: int8[32]
  Q4_0: { elems: 32, bytes: 18 },   // d: f16, qs: uint8[16], element j in the low nibble of qs[j], j+16 in the high
} as const;

/** Bytes of n values (n a multiple of 32). */
export function quantBytes(type: QuantType, n: number): number {
  return (n / QUANT_BLOCK[type].elems) * QUANT_BLOCK[type].bytes;
}

function checkBlocks(fn: string, n: number): void {
  if (n % 32 !== 0) throw new Error(`${fn}: ${n} values is not a whole number of 32-value blocks`);
}

// One f32 -> its bit pattern (for the f16 scale).
const F = new Float32Array(1);
const FB = new Uint32Array(F.buffer);
function f16Of(x: number): number { F[0] = x; return f32BitsToF16(FB[0]); }

/**
 * quantize_row_q8_0_ref: per block of 32, d = max|x| / 127 stored as f16, and
 * q = round-half-away(x / d) in int8 (scaled by 1/d in f32, as ggml and gguf-py both do).
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  checkBlocks('quantizeQ8_0', x.length);
  const out = new Uint8Array((x.length / 32) * 34);
  const view = new DataView(out.buffer);
  for (let b = 0, o = 0; b < x.length; b += 32, o += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(o, f16Of(d), true);
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(x[b + j] * id);
      const q = v < 0 ? -Math.round(-v) : Math.round(v); // C roundf: halves away from zero
      view.setInt8(o + 2 + j, q);
    }
  }
  return out;
}

/**
 * quantize_row_q4_0_ref: per block of 32, d = m / -8 where m is the value of largest magnitude
 * (so m itself maps to -8 exactly), q = min(15, trunc(x / d + 8.5)) in a nibble.
 */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  checkBlocks('quantizeQ4_0', x.length);
  const out = new Uint8Array((x.length / 32) * 18);
  const view = new DataView(out.buffer);
  const nib = (v: number) => Math.min(15, Math.trunc(Math.fround(Math.fround(v) + 8.5)));
  for (let b = 0, o = 0; b < x.length; b += 32, o += 18) {
    let amax = 0, max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b + j];
      if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
    }
    const d = Math.fround(max / -8);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(o, f16Of(d), true);
    for (let j = 0; j < 16; j++) out[o + 2 + j] = nib(x[b + j] * id) | (nib(x[b + 16 + j] * id) << 4);
  }
  return out;
}

export function quantize(type: QuantType, x: Float32Array): Uint8Array {
  return type === 'Q8_0' ? quantizeQ8_0(x) : quantizeQ4_0(x);
}

/**
 * Blocks -> n f32 values: q * d with d the f16 scale widened. Every such product is exact in f32
 * (an 11-bit scale times a quant of at most 8 bits), so any kernel that dequantizes agrees bit for bit.
 */
export function dequantize(type: QuantType, blocks: Uint8Array, n: number, out = new Float32Array(n)): Float32Array {
  checkBlocks('dequantize', n);
  const { bytes } = QUANT_BLOCK[type];
  if (blocks.length < (n / 32) * bytes) throw new Error(`dequantize: ${blocks.length} bytes hold fewer than ${n} ${type} values`);
  const view = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
  const scale = new Uint16Array(1);
  for (let b = 0, o = 0; b < n; b += 32, o += bytes) {
    scale[0] = view.getUint16(o, true);
    const d = f16ToF32(scale)[0];
    if (type === 'Q8_0') {
      for (let j = 0; j < 32; j++) out[b + j] = view.getInt8(o + 2 + j) * d;
    } else {
      for (let j = 0; j < 16; j++) {
        const q = blocks[o + 2 + j];
        out[b + j] = ((q & 0x0f) - 8) * d;
        out[b + 16 + j] = ((q >> 4) - 8) * d;
      }
    }
  }
  return out;
}
