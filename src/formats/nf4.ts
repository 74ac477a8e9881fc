// QLoRA's NormalFloat4 with double quantization, as bitsandbytes keeps a Linear4bit weight
// (quantize_4bit(..., quant_type='nf4', compress_statistics=True)): the one home of the format for
// --base-quant nf4. Written from bitsandbytes' functional.py and its torch reference backend
// (backends/default/ops.py); scripts/fixtures/make_nf4_golden.py follows the same steps in torch.
//
// Layout (the tensor flattened row-major): blocks of 64 values, each value a 4-bit index into the
// NF4 table times its block's absmax; two indices a byte, the first in the high nibble. The absmax
// values, less their mean (offset, f32), are quantized again: blocks of 256 to the signed 8-bit
// dynamic map, each with its own f32 absmax (absmax2). About 4.127 bits a weight.

/** get_4bit_type('nf4'): quantiles of N(0, 1) scaled to [-1, 1], with an exact zero (QLoRA, appendix E). */
export const NF4_TABLE = Float32Array.of(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0);

/** Values per NF4 block, and absmax values per block of the nested (double) quantization. */
export const NF4_BLOCK = 64;
export const NF4_ABSMAX_BLOCK = 256;

/** The quantized tensor: nibbles, 8-bit absmax codes, their per-256 scales and the shared offset. */
export interface Nf4Blocks {
  /** n/2 bytes: value 2i in the high nibble of byte i, value 2i+1 in the low one. */
  readonly blocks: Uint8Array;
  /** n/64 codes into DYNAMIC_MAP: (absmax - offset) / absmax2 of its group of 256. */
  readonly absmaxCodes: Uint8Array;
  /** ceil(n/64/256) f32 scales of the absmax codes. */
  readonly absmax2: Float32Array;
  /** mean of the block absmax values (f32), added back after dequantizing them. */
  readonly offset: number;
}

const f = Math.fround;

/**
 * create_dynamic_map(signed=True): 8-bit values v * 10^e for e = -6..0 (2^(e+6) of them at each e,
 * midpoints of torch.linspace(0.1, 1)), both signs, plus 0 and 1, sorted; as f32 bit patterns.
 * bitsandbytes builds it at run time from torch.linspace, whose last bits follow the SIMD width
 * torch runs with; these are torch 2.13's with AVX-512 (scripts/fixtures/make_nf4_golden.py).
 */
export const DYNAMIC_MAP = new Float32Array(Uint32Array.of(
  0xbf7e3333, 0xbf7a999a, 0xbf770000, 0xbf736666, 0xbf6fcccd, 0xbf6c3333, 0xbf68999a, 0xbf650000,
  0xbf616666, 0xbf5dcccd, 0xbf5a3333, 0xbf56999a, 0xbf530000, 0xbf4f6666, 0xbf4bcccd, 0xbf483333,
  0xbf44999a, 0xbf410000, 0xbf3d6666, 0xbf39cccd, 0xbf363334, 0xbf32999a, 0xbf2f0000, 0xbf2b6666,
  0xbf27cccd, 0xbf243334, 0xbf20999a, 0xbf1d0000, 0xbf196666, 0xbf15cccd, 0xbf123334, 0xbf0e999a,
  0xbf0b0000, 0xbf076666, 0xbf03cccc, 0xbf003333, 0xbef93332, 0xbef20000, 0xbeeacccc, 0xbee3999a,
  0xbedc6666, 0xbed53333, 0xbece0000, 0xbec6cccc, 0xbebf999a, 0xbeb86666, 0xbeb13333, 0xbeaa0000,
  0xbea2cccc, 0xbe9b999a, 0xbe946666, 0xbe8d3334, 0xbe860000, 0xbe7d9999, 0xbe6f3333, 0xbe60cccd,
  0xbe526666, 0xbe440000, 0xbe35999a, 0xbe273333, 0xbe18cccd, 0xbe0a6666, 0xbdf80000, 0xbddb3334,
  0xbdc9eb85, 0xbdc428f7, 0xbdbe6667, 0xbdb8a3d7, 0xbdb2e148, 0xbdad1eb8, 0xbda75c2a, 0xbda1999a,
  0xbd9bd70a, 0xbd96147b, 0xbd9051eb, 0xbd8a8f5d, 0xbd84cccd, 0xbd7e147b, 0xbd728f5d, 0xbd670a3d,
  0xbd5b851f, 0xbd500000, 0xbd447ae1, 0xbd38f5c3, 0xbd2d70a3, 0xbd21eb85, 0xbd166667, 0xbd0ae148,
  0xbcfeb852, 0xbce7ae15, 0xbcd0a3d7, 0xbcb9999a, 0xbca28f5d, 0xbc8b851f, 0xbc68f5c3, 0xbc3ae148,
  0xbc1f3b64, 0xbc160418, 0xbc0ccccd, 0xbc039581, 0xbbf4bc6a, 0xbbe24dd3, 0xbbcfdf3b, 0xbbbd70a4,
  0xbbab020d, 0xbb989374, 0xbb8624dd, 0xbb676c8a, 0xbb428f5c, 0xbb1db22d, 0xbaf1a9fc, 0xbaa7ef9d,
  0xba7765ff, 0xba59e83e, 0xba3c6a80, 0xba1eecc1, 0xba016f01, 0xb9c7e283, 0xb98ce705, 0xb923d70b,
  0xb8ba1f4b, 0xb88aefb3, 0xb8378034, 0xb7b24206, 0xb70205ff, 0xb65a1a94, 0xb513a3b7, 0x00000000,
  0x3513a3b7, 0x365a1a94, 0x370205ff, 0x37b24206, 0x38378034, 0x388aefb3, 0x38ba1f4b, 0x3923d70b,
  0x398ce705, 0x39c7e283, 0x3a016f01, 0x3a1eecc1, 0x3a3c6a80, 0x3a59e83e, 0x3a7765ff, 0x3aa7ef9d,
  0x3af1a9fc, 0x3b1db22d, 0x3b428f5c, 0x3b676c8a, 0x3b8624dd, 0x3b989374, 0x3bab020d, 0x3bbd70a4,
  0x3bcfdf3b, 0x3be24dd3, 0x3bf4bc6a, 0x3c039581, 0x3c0ccccd, 0x3c160418, 0x3c1f3b64, 0x3c3ae148,
  0x3c68f5c3, 0x3c8b851f, 0x3ca28f5d, 0x3cb9999a, 0x3cd0a3d7, 0x3ce7ae15, 0x3cfeb852, 0x3d0ae148,
  0x3d166667, 0x3d21eb85, 0x3d2d70a3, 0x3d38f5c3, 0x3d447ae1, 0x3d500000, 0x3d5b851f, 0x3d670a3d,
  0x3d728f5d, 0x3d7e147b, 0x3d84cccd, 0x3d8a8f5d, 0x3d9051eb, 0x3d96147b, 0x3d9bd70a, 0x3da1999a,
  0x3da75c2a, 0x3dad1eb8, 0x3db2e148, 0x3db8a3d7, 0x3dbe6667, 0x3dc428f7, 0x3dc9eb85, 0x3ddb3334,
  0x3df80000, 0x3e0a6666, 0x3e18cccd, 0x3e273333, 0x3e35999a, 0x3e440000, 0x3e526666, 0x3e60cccd,
  0x3e6f3333, 0x3e7d9999, 0x3e860000, 0x3e8d3334, 0x3e946666, 0x3e9b999a, 0x3ea2cccc, 0x3eaa0000,
  0x3eb13333, 0x3eb86666, 0x3ebf999a, 0x3ec6cccc, 0x3ece0000, 0x3ed53333, 0x3edc6666, 0x3ee3999a,
  0x3eeacccc, 0x3ef20000, 0x3ef93332, 0x3f003333, 0x3f03cccc, 0x3f076666, 0x3f0b0000, 0x3f0e999a,
  0x3f123334, 0x3f15cccd, 0x3f196666, 0x3f1d0000, 0x3f20999a, 0x3f243334, 0x3f27cccd, 0x3f2b6666,
  0x3f2f0000, 0x3f32999a, 0x3f363334, 0x3f39cccd, 0x3f3d6666, 0x3f410000, 0x3f44999a, 0x3f483333,
  0x3f4bcccd, 0x3f4f6666, 0x3f530000, 0x3f56999a, 0x3f5a3333, 0x3f5dcccd, 0x3f616666, 0x3f650000,
  0x3f68999a, 0x3f6c3333, 0x3f6fcccd, 0x3f736666, 0x3f770000, 0x3f7a999a, 0x3f7e3333, 0x3f800000,
).buffer);

/** Midpoints between neighbouring codes (f32), what torch.bucketize compares against. */
function midpoints(code: Float32Array): Float32Array {
  return Float32Array.from({ length: code.length - 1 }, (_, i) => f(f(code[i] + code[i + 1]) / 2));
}
const NF4_BOUNDS = midpoints(NF4_TABLE);
const DYNAMIC_BOUNDS = midpoints(DYNAMIC_MAP);

/** torch.bucketize(v, bounds) (right=False): how many bounds lie strictly below v. */
function bucket(bounds: Float32Array, v: number): number {
  let lo = 0, hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid] < v) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * Blockwise absmax quantization of x to the codes `bounds` separates (quantize_blockwise and
 * quantize_4bit alike): scaled = clamp(x * f32(1/absmax), -1, 1), except that a short last block
 * divides by its absmax, as the reference backend does. Writes codes[i], returns the absmax values.
 */
function quantizeBlockwise(x: Float32Array, block: number, bounds: Float32Array, codes: Uint8Array): Float32Array {
  const nb = Math.ceil(x.length / block), absmax = new Float32Array(nb);
  for (let b = 0; b < nb; b++) {
    const lo = b * block, hi = Math.min(x.length, lo + block);
    let m = 0;
    for (let i = lo; i < hi; i++) m = Math.max(m, Math.abs(x[i]));
    absmax[b] = m;
    const am = Math.max(m, 1e-38), short = hi - lo < block, inv = f(1 / f(am));
    for (let i = lo; i < hi; i++) {
      const s = short ? f(x[i] / f(am)) : f(x[i] * inv);
      codes[i] = bucket(bounds, Math.min(1, Math.max(-1, s)));
    }
  }
  return absmax;
}

/** Bytes of n values (n a multiple of 64): the nibbles, the absmax codes and the absmax2 scales. */
export function nf4Bytes(n: number): number {
  const nb = n / NF4_BLOCK;
  return n / 2 + nb + 4 * Math.ceil(nb / NF4_ABSMAX_BLOCK);
}

function checkBlocks(fn: string, n: number): void {
  if (n % NF4_BLOCK !== 0 || n === 0) throw new Error(`${fn}: ${n} values is not a whole number of ${NF4_BLOCK}-value NF4 blocks`);
}

/** quantize_4bit(x, blocksize=64, quant_type='nf4', compress_statistics=True) on the flattened x. */
export function quantizeNf4(x: Float32Array): Nf4Blocks {
  checkBlocks('quantizeNf4', x.length);
  const codes = new Uint8Array(x.length);
  const absmax = quantizeBlockwise(x, NF4_BLOCK, NF4_BOUNDS, codes);
  const blocks = new Uint8Array(x.length / 2);
  for (let i = 0; i < blocks.length; i++) blocks[i] = (codes[2 * i] << 4) | codes[2 * i + 1];
  // Double quantization: absmax less its mean (torch's f32 mean: the f64 sum rounded once, which its
  // pairwise sum matches but for a rare last bit), in blocks of 256 on the dynamic map.
  let sum = 0;
  for (let i = 0; i < absmax.length; i++) sum += absmax[i];
  const offset = f(sum / absmax.length);
  const centred = absmax.map((a) => f(a - offset));
  const absmaxCodes = new Uint8Array(absmax.length);
  const absmax2 = quantizeBlockwise(centred, NF4_ABSMAX_BLOCK, DYNAMIC_BOUNDS, absmaxCodes);
  return { blocks, absmaxCodes, absmax2, offset };
}

/** The f32 absmax of each 64-value block: DYNAMIC_MAP[code] * absmax2 + offset, rounded after each step. */
export function nf4BlockScales(q: Nf4Blocks): Float32Array {
  const out = new Float32Array(q.absmaxCodes.length);
  for (let b = 0; b < out.length; b++) {
    out[b] = f(f(DYNAMIC_MAP[q.absmaxCodes[b]] * q.absmax2[Math.floor(b / NF4_ABSMAX_BLOCK)]) + q.offset);
  }
  return out;
}

/** dequantize_4bit: value i = NF4_TABLE[code i] * absmax of its block, an f32 product (the spec the kernels match). */
export function dequantizeNf4(q: Nf4Blocks, n: number, out = new Float32Array(n)): Float32Array {
  checkBlocks('dequantizeNf4', n);
  if (q.blocks.length < n / 2 || q.absmaxCodes.length < n / NF4_BLOCK) {
    throw new Error(`dequantizeNf4: ${q.blocks.length} bytes and ${q.absmaxCodes.length} absmax codes hold fewer than ${n} NF4 values`);
  }
  const scales = nf4BlockScales(q);
  for (let i = 0; i < n; i += 2) {
    const byte = q.blocks[i >> 1], d = scales[Math.floor(i / NF4_BLOCK)];
    out[i] = f(NF4_TABLE[byte >> 4] * d);
    out[i + 1] = f(NF4_TABLE[byte & 0x0f] * d);
  }
  return out;
}
