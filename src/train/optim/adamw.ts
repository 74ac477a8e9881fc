// AdamW with parameter groups, PyTorch's exact update (torch.optim.AdamW), one native kernel per tensor.
import { backend } from '../../backend/select.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface AdamWGroup {
  params: Tensor[];
  weightDecay?: number;
  /** Multiplies the optimizer's lr for this group. */
  lrScale?: number;
}

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState { m: Float32Array; v: Float32Array }

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly groups: Required<AdamWGroup>[];
  /** Steps taken (the bias correction's t). */
  step = 0;
  private state = new Map<Tensor, ParamState>();

  constructor(groups: AdamWGroup[] | Tensor[], { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0.01 }: AdamWOptions = {}) {
    this.lr = lr;
    [this.beta1, this.beta2] = betas;
    this.eps = eps;
    const gs: AdamWGroup[] = groups.length && !('params' in groups[0]) ? [{ params: groups as Tensor[] }] : groups as AdamWGroup[];
    this.groups = gs.map((g) => ({ params: g.params.filter((p) => p.requiresGrad), weightDecay: g.weightDecay ?? weightDecay, lrScale: g.lrScale ?? 1 }));
  }

  /** One update of every parameter that has a gradient. */
  stepUpdate(): void {
    this.step++;
    const B = backend();
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        let s = this.state.get(p);
        if (!s) this.state.set(p, (s = { m: new Float32Array(p.size), v: new Float32Array(p.size) }));
        B.adamw(p.data, p.grad, s.m, s.v, p.size, this.lr * g.lrScale, this.beta1, this.beta2, this.eps, g.weightDecay, this.step);
      }
    }
  }

  /** The moment buffers of a parameter (for checkpoints); null before its first update. */
  stateOf(p: Tensor): ParamState | null {
    return this.state.get(p) ?? null;
  }

  setState(p: Tensor, m: Float32Array, v: Float32Array): void {
    this.state.set(p, { m, v });
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.zeroGrad();
  }
}
