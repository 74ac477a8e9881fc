// Reference optimizer steps, in place on one parameter tensor, following PyTorch 1.13's single-tensor
// AdamW and SGD op by op: scalars are computed in double (as Python does) and every tensor op rounds
// to float32 (Math.fround), so this is the float32 spec the native kernels match.
import type { F32 } from '../backend.js';

const f = Math.fround;

/**
 * AdamW, step >= 1: p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps).
 */
export function adamw(param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number,
  eps: number, weightDecay: number, step: number): void {
  // param, grad, m, v: [n]
  if (!(Number.isInteger(step) && step >= 1)) throw new Error(`adamw: step must be an integer >= 1, got ${step}`);
  const decay = f(1 - lr * weightDecay);
  const b1 = f(beta1), omb1 = f(1 - beta1), b2 = f(beta2), omb2 = f(1 - beta2);
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const negStepSize = f(-(lr / bc1));
  const bc2Sqrt = f(Math.sqrt(bc2));
  const epsF = f(eps);
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const p = f(param[i] * decay);                   // param.mul_(1 - lr*wd)
    const mi = f(f(m[i] * b1) + f(g * omb1));         // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    const vi = f(f(v[i] * b2) + f(f(g * g) * omb2));  // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
    const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + epsF); // (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps)
    param[i] = f(p + f(negStepSize * f(mi / denom))); // param.addcdiv_(exp_avg, denom, value=-step_size)
    m[i] = mi;
    v[i] = vi;
  }
}

/**
 * torch.optim.SGD: d = g + wd p; with momentum, buf = d on the first step, else
 * buf = momentum buf + (1 - dampening) d, and d = nesterov ? d + momentum buf : buf; p -= lr d.
 * grad is not modified; buf is untouched when momentum is 0.
 */
export function sgd(param: F32, grad: F32, buf: F32, n: number, lr: number, momentum: number, dampening: number,
  nesterov: boolean, weightDecay: number, firstStep: boolean): void {
  // param, grad, buf: [n]
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new Error(`sgd: nesterov momentum requires a momentum > 0 and zero dampening (got momentum ${momentum}, dampening ${dampening})`);
  }
  const wd = f(weightDecay), mom = f(momentum), omd = f(1 - dampening), negLr = f(-lr);
  for (let i = 0; i < n; i++) {
    let d = grad[i];
    if (weightDecay !== 0) d = f(d + f(wd * param[i]));   // d_p = d_p.add(param, alpha=wd)
    if (momentum !== 0) {
      const b = firstStep ? d : f(f(buf[i] * mom) + f(omd * d)); // buf.mul_(mom).add_(d_p, alpha=1-damp)
      buf[i] = b;
      d = nesterov ? f(d + f(mom * b)) : b;
    }
    param[i] = f(param[i] + f(negLr * d));           // param.add_(d_p, alpha=-lr)
  }
}
