// The basic layers. Each holds its parameters under PyTorch's names (weight, bias).
import { Tensor } from '../tensor/tensor.js';
import { linear, type WeightLayout } from '../tensor/ops/linear.js';
import { embedding } from '../tensor/ops/embedding.js';
import { layerNorm, rmsNorm } from '../tensor/ops/norm.js';
import type { Shape } from '../tensor/shape.js';
import { Module } from './module.js';

/** torch.nn.Linear (weight [out, in]) or, with layout 'in_out', GPT-2's Conv1D (weight [in, out]). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number,
    { bias = true, layout = 'out_in' as WeightLayout } = {}) {
    super();
    this.layout = layout;
    const shape = layout === 'out_in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
    this.weight = Tensor.zerosParam(shape);
    this.bias = bias ? Tensor.param(new Float32Array(outFeatures), [outFeatures]) : null;
  }
  readonly layout: WeightLayout;
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, this.layout);
  }
}

export class Embedding extends Module {
  weight: Tensor;
  /** paddingIdx: torch's padding_idx (that row gets no gradient from lookups). */
  constructor(readonly numEmbeddings: number, readonly dim: number, readonly paddingIdx: number | null = null) {
    super();
    this.weight = Tensor.zerosParam([numEmbeddings, dim]);
  }
  forward(ids: Int32Array, shape: Shape): Tensor {
    return embedding(this.weight, ids, shape, this.paddingIdx);
  }
}

export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = Tensor.param(new Float32Array(dim).fill(1), [dim]);
    this.bias = Tensor.param(new Float32Array(dim), [dim]);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm extends Module {
  weight: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-6) {
    super();
    this.weight = Tensor.param(new Float32Array(dim).fill(1), [dim]);
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
