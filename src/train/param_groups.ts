// Hugging Face Trainer's default AdamW groups: weight decay on every trainable weight except
// biases and the weights of normalisation layers (LayerNorm, RMSNorm).
import type { Module } from '../nn/module.js';
import { LayerNorm, RMSNorm } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AdamWGroup } from './optim/adamw.js';

export function decayGroups(model: Module, weightDecay: number): AdamWGroup[] {
  const noDecay = new Set<Tensor>();
  for (const [, m] of model.namedModules()) {
    if (m instanceof LayerNorm || m instanceof RMSNorm) for (const p of m.parameters()) noDecay.add(p);
  }
  const decay: Tensor[] = [], plain: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    (noDecay.has(p) || name.endsWith('bias') ? plain : decay).push(p);
  }
  return [{ params: decay, weightDecay }, { params: plain, weightDecay: 0 }];
}
