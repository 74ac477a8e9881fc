// The native backend: the addon's kernels under the Backend interface (marshalling only).
import { isQuantWeight, type Backend, type F32, type QuantWeight } from '../backend.js';
import { DYNAMIC_MAP } from '../../formats/nf4.js';
import type { NativeAddon } from './binding.js';

export function nativeBackend(addon: NativeAddon): Backend {
  const k = addon;
  const gemmQuant = (c: F32, a: F32, b: QuantWeight, m: number, n: number, k_: number, ta: boolean, tb: boolean, acc: boolean) =>
    b.dtype === 'NF4'
      ? k.gemmNf4(c, a, b.blocks, m, n, k_, ta, tb !== b.transposed, acc, b.absmaxCodes, b.absmax2, DYNAMIC_MAP, b.offset)
      : k.gemmQuant(c, a, b.blocks, m, n, k_, ta, tb !== b.transposed, acc, b.dtype === 'Q4_0');
  return {
    name: 'native',
    get threads() { return addon.threads(); },
    gemm: (c, a, b, m, n, k_, ta, tb, acc) => b instanceof Float32Array
      ? k.gemm(c, a, b, m, n, k_, ta, tb, acc)
      : isQuantWeight(b) ? gemmQuant(c, a, b, m, n, k_, ta, tb, acc)
        : k.gemmHalf(c, a, b.bits, m, n, k_, ta, tb, acc, b.dtype === 'F16'),
    gemmBf16: (c, a, b, m, n, k_, ta, tb, acc) => b instanceof Float32Array
      ? k.gemmBf16(c, a, b, m, n, k_, ta, tb, acc, 0)
      : isQuantWeight(b) ? gemmQuant(c, a, b, m, n, k_, ta, tb, acc)
        : k.gemmBf16(c, a, b.bits, m, n, k_, ta, tb, acc, b.dtype === 'F16' ? 2 : 1),
    get bf16Hardware() { return addon.bf16Hardware() === 1; },
    addBias: k.addBias, sumRows: k.sumRows, halfToF32: k.halfToF32,
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
