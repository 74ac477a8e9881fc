// The native backend: the addon's kernels under the Backend interface (marshalling only).
import { isPackedBf16, isQuantWeight, type Backend, type F32, type HalfWeight, type PackedBf16, type QuantWeight, type StoredWeight } from '../backend.js';
import { checkPacked } from '../reference/gemm.js';
import { DYNAMIC_MAP } from '../../formats/nf4.js';
import type { NativeAddon } from './binding.js';

export function nativeBackend(addon: NativeAddon): Backend {
  const k = addon;
  const gemmQuant = (c: F32, a: F32, b: QuantWeight, m: number, n: number, k_: number, ta: boolean, tb: boolean, acc: boolean) =>
    b.dtype === 'NF4'
      ? k.gemmNf4(c, a, b.blocks, m, n, k_, ta, tb !== b.transposed, acc, b.absmaxCodes, b.absmax2, DYNAMIC_MAP, b.offset)
      : k.gemmQuant(c, a, b.blocks, m, n, k_, ta, tb !== b.transposed, acc, b.dtype === 'Q4_0');
  const gemmBf16 = (c: F32, a: F32, b: F32 | StoredWeight, m: number, n: number, k_: number, ta: boolean, tb: boolean, acc: boolean) => b instanceof Float32Array
    ? k.gemmBf16(c, a, b, m, n, k_, ta, tb, acc, 0)
    : isQuantWeight(b) ? gemmQuant(c, a, b, m, n, k_, ta, tb, acc)
      : k.gemmBf16(c, a, (b as HalfWeight).bits, m, n, k_, ta, tb, acc, b.dtype === 'F16' ? 2 : 1);
  return {
    name: 'native',
    get threads() { return addon.threads(); },
    gemm: (c, a, b, m, n, k_, ta, tb, acc) => b instanceof Float32Array
      ? k.gemm(c, a, b, m, n, k_, ta, tb, acc)
      : isQuantWeight(b) ? gemmQuant(c, a, b, m, n, k_, ta, tb, acc)
        : k.gemmHalf(c, a, b.bits, m, n, k_, ta, tb, acc, b.dtype === 'F16'),
    gemmBf16: (c, a, b, m, n, k_, ta, tb, acc) => {
      if (isPackedBf16(b)) {
        checkPacked(b, n, k_, tb);
        if (!(b.data instanceof Uint32Array)) return gemmBf16(c, a, b.data, m, n, k_, ta, tb, acc);
        return k.gemmBf16(c, a, b.data, m, n, k_, ta, tb, acc, 3);
      }
      return gemmBf16(c, a, b, m, n, k_, ta, tb, acc);
    },
    // AVX-512 BF16 panels where the kernel runs on them (m of 1 included); elsewhere the operand
    // itself, rounded per call as gemmBf16 does.
    packBf16: (b, n, k_, tb, reuse): PackedBf16 => {
      const into = reuse && reuse.data instanceof Uint32Array && reuse.n === n && reuse.k === k_ ? reuse.data : null;
      const data = b instanceof Float32Array ? k.packBf16(b, n, k_, tb, into, 0) : k.packBf16(b.bits, n, k_, tb, into, b.dtype === 'F16' ? 2 : 1);
      return { dtype: 'PACKED_BF16', n, k: k_, transB: tb, data: data ?? b };
    },
    get bf16Hardware() { return addon.bf16Hardware() === 1; },
    addBias: k.addBias, sumRows: k.sumRows, halfToF32: k.halfToF32,
    quantizeGgml: k.quantizeGgml,
    quantizeNf4: (blocks, absmaxCodes, absmax2, x, n) => k.quantizeNf4(blocks, absmaxCodes, absmax2, x, n, DYNAMIC_MAP),
    add: k.add, mul: k.mul, scale: k.scale, axpy: k.axpy, addMul: k.addMul, sum: k.sum, sumSquares: k.sumSquares,
    geluForward: k.geluForward, geluBackward: k.geluBackward, siluForward: k.siluForward, siluBackward: k.siluBackward,
    geluErfForward: k.geluErfForward, geluErfBackward: k.geluErfBackward, tanhForward: k.tanhForward, tanhBackward: k.tanhBackward,
    layerNormForward: k.layerNormForward, layerNormBackward: k.layerNormBackward,
    rmsNormForward: k.rmsNormForward, rmsNormBackward: k.rmsNormBackward,
    softmaxForward: k.softmaxForward, softmaxBackward: k.softmaxBackward, rope: k.rope,
    attentionForward: k.attentionForward, attentionBackward: k.attentionBackward, attentionDecode: k.attentionDecode,
    crossEntropyForward: k.crossEntropyForward, crossEntropyBackward: k.crossEntropyBackward,
    embeddingForward: k.embeddingForward, embeddingBackward: k.embeddingBackward,
    dropoutForward: k.dropoutForward, dropoutBackward: k.dropoutBackward,
    adamw: k.adamw, sgd: k.sgd,
  };
}
