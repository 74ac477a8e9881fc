// safetensors dtypes (names, sizes, the writer's ordering) and the bulk float conversions that
// loading and saving need: f16/bf16 <-> f32 with round-to-nearest-even, as PyTorch does.
import { endianness } from 'node:os';

// The order of safetensors' Rust `Dtype` enum (increasing alignment); the writer sorts by it.
export const DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16',
  'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;
export type DType = (typeof DTYPES)[number];

const BITS: Record<DType, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && (DTYPES as readonly string[]).includes(s);
}

export function dtypeBits(d: DType): number {
  return BITS[d];
}

/** Position in the Rust enum: larger sorts first in a written file. */
export function dtypeOrder(d: DType): number {
  return DTYPES.indexOf(d);
}

/** Typed arrays are host-endian and safetensors is little-endian; every x86/ARM host is little-endian. */
export function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('gptune: safetensors I/O needs a little-endian host');
}

// ---- f16 -> f32: a 65536-entry table (256 KiB), built on first use ----

let F16_TABLE: Float32Array | null = null;

function f16Table(): Float32Array {
  if (F16_TABLE) return F16_TABLE;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;                   // zero and subnormals
    else if (exp === 31) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return (F16_TABLE = t);
}

/** Decodes n f16 bit patterns. */
export function f16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const t = f16Table();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

/** bf16 is the top half of an f32: shift it back into place. */
export function bf16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
  return out;
}

// ---- f32 -> f16 / bf16, round to nearest even ----

/** One f32 bit pattern -> f16 bit pattern (RNE; overflow to inf; NaN stays NaN, quiet). */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  if (exp >= 113) {                                  // normal in f16 (unbiased exponent >= -14)
    if (exp > 142) return sign | 0x7c00;             // >= 2^16: inf
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;   // a carry may roll into the exponent (to inf): correct
    return sign | h;
  }
  if (exp < 102) return sign;                        // below half the smallest subnormal: +-0
  // Subnormal: count units of 2^-24; value = m * 2^(exp-150).
  const m = mant | 0x800000;
  const shift = 126 - exp;                           // 14..24
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1))) h++;
  return sign | h;
}

/** One f32 bit pattern -> bf16 bit pattern (RNE, like torch's float -> bfloat16). */
export function f32BitsToBF16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;   // NaN: keep it quiet
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f32ToF16(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  const b = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16(b[i]);
  return out;
}

export function f32ToBF16(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  const b = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBF16(b[i]);
  return out;
}

// ---- 64-bit integers ----

/**
 * i64 words -> Int32Array when every value fits (token ids, labels), else null.
 * A value fits in int32 when its high word is the sign extension of its low word.
 */
export function i64ToI32(words: Int32Array): Int32Array | null {
  const n = words.length >> 1;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i], hi = words[2 * i + 1];
    if (hi !== (lo >> 31)) return null;
    out[i] = lo;
  }
  return out;
}

/** int32 -> i64 words (sign-extended), for writing I64 from an Int32Array. */
export function i32ToI64Words(src: Int32Array): Int32Array {
  const out = new Int32Array(src.length * 2);
  for (let i = 0; i < src.length; i++) {
    out[2 * i] = src[i];
    out[2 * i + 1] = src[i] >> 31;
  }
  return out;
}
