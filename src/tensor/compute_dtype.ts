// The precision products with a layer's weight are computed in: 'f32' (exact; the default) or 'bf16'
// (mixed precision, as torch.autocast('cpu', dtype=torch.bfloat16) runs nn.Linear: both operands
// rounded to bf16, sums in f32; weights, gradients and optimizer state stay f32). Attention, norms
// and the loss stay f32. Set for a whole run, not a scope: a backward, and a checkpointed block's
// replay, must compute as its forward did.
import type { Backend } from '../backend/backend.js';

export type ComputeDtype = 'f32' | 'bf16';
export const COMPUTE_DTYPES: readonly ComputeDtype[] = ['f32', 'bf16'];

let current: ComputeDtype = 'f32';

/** Sets the precision; returns the previous one (to restore). */
export function setComputeDtype(dtype: ComputeDtype): ComputeDtype {
  const previous = current;
  current = dtype;
  return previous;
}

export function computeDtype(): ComputeDtype {
  return current;
}

/** The GEMM for a product with a weight, in the current precision (read once per op: its backward uses the same). */
export function weightGemm(be: Backend): Backend['gemm'] {
  return current === 'bf16' ? be.gemmBf16 : be.gemm;
}
