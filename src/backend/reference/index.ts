// The reference backend: plain TypeScript loops, one file per op family. It is the spec that the
// native kernels are tested against, and the fallback when the addon cannot load.
import type { Backend } from '../backend.js';
import { add, addMul, axpy, mul, scale, sum, sumSquares } from './elementwise.js';
import { gemm, gemmBf16, packBf16 } from './gemm.js';
import { addBias, sumRows } from './bias.js';
import { halfToF32 } from './convert.js';
import { quantizeGgml, quantizeNf4 } from './quantize.js';
import { geluBackward, geluErfBackward, geluErfForward, geluForward, siluBackward, siluForward, tanhBackward, tanhForward } from './activations.js';
import { layerNormBackward, layerNormForward } from './layernorm.js';
import { rmsNormBackward, rmsNormForward } from './rmsnorm.js';
import { softmaxBackward, softmaxForward } from './softmax.js';
import { rope } from './rope.js';
import { attentionBackward, attentionForward } from './attention.js';
import { attentionDecode } from './attention_decode.js';
import { crossEntropyBackward, crossEntropyForward } from './crossentropy.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { dropoutBackward, dropoutForward } from './dropout.js';
import { adamw, sgd } from './optimizers.js';

export const referenceBackend: Backend = {
  name: 'reference',
  threads: 1,
  gemm, gemmBf16, packBf16, bf16Hardware: false, addBias, sumRows, halfToF32,
  quantizeGgml, quantizeNf4,
  add, mul, scale, axpy, addMul, sum, sumSquares,
  geluForward, geluBackward, siluForward, siluBackward, geluErfForward, geluErfBackward, tanhForward, tanhBackward,
  layerNormForward, layerNormBackward, rmsNormForward, rmsNormBackward,
  softmaxForward, softmaxBackward, rope,
  attentionForward, attentionBackward, attentionDecode,
  crossEntropyForward, crossEntropyBackward,
  embeddingForward, embeddingBackward,
  dropoutForward, dropoutBackward,
  adamw, sgd,
};
