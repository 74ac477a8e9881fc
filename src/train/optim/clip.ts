// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_): returns the norm before clipping.
import { backend } from '../../backend/select.js';
import type { Tensor } from '../../tensor/tensor.js';

export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  const B = backend();
  let sq = 0;
  for (const p of params) if (p.grad) sq += B.sumSquares(p.grad, p.size);
  const norm = Math.sqrt(sq);
  // PyTorch: clip_coef = max_norm / (total_norm + 1e-6), applied only when below 1.
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const p of params) if (p.grad) B.scale(p.grad, p.grad, coef, p.size);
  return norm;
}
