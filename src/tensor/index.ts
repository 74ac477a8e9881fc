// The tensor engine's public surface.
export { Tensor } from './tensor.js';
export { noGrad, isGradEnabled, forwardBlock } from './tape.js';
export { runBlocks } from './blocks.js';
export { linear, matmul, type WeightLayout } from './ops/linear.js';
export { add, mul, scale } from './ops/elementwise.js';
export { gelu, silu } from './ops/activations.js';
export { layerNorm, rmsNorm } from './ops/norm.js';
export { embedding } from './ops/embedding.js';
export { attention, rope, type AttentionOptions } from './ops/attention.js';
export { crossEntropy, softmax, IGNORE_INDEX } from './ops/loss.js';
export { linearCrossEntropy, type LinearCrossEntropyOptions } from './ops/linear_cross_entropy.js';
export { loraLinear, type LoraPath } from './ops/lora_linear.js';
export { dropout } from './ops/dropout.js';
export { reshape, slice, split, concat, transpose } from './ops/layout.js';
export { sum, mean } from './ops/reduce.js';
export { ShapeError } from './shape.js';
