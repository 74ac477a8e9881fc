// SGD with momentum, dampening and Nesterov, as torch.optim.SGD; one native kernel per tensor.
import { backend } from '../../backend/select.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface SGDOptions { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }

export class SGD {
  private buffers = new Map<Tensor, Float32Array>();
  readonly params: Tensor[];
  constructor(params: Tensor[], readonly opts: SGDOptions) {
    if (opts.nesterov && (!(opts.momentum! > 0) || (opts.dampening ?? 0) !== 0)) {
      throw new Error('SGD: nesterov needs momentum > 0 and dampening 0 (as in PyTorch)');
    }
    this.params = params.filter((p) => p.requiresGrad);
  }
  stepUpdate(): void {
    const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = this.opts;
    const B = backend();
    for (const p of this.params) {
      if (!p.grad) continue;
      let buf = this.buffers.get(p);
      const first = !buf;
      if (!buf) this.buffers.set(p, (buf = new Float32Array(momentum ? p.size : 0)));
      B.sgd(p.data, p.grad, buf, p.size, lr, momentum, dampening, nesterov, weightDecay, first);
    }
  }
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}
