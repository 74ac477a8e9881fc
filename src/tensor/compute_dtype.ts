// The precision products with a layer's weight are computed in: 'f32' (exact; the default) or 'bf16'
// (mixed precision, as torch.autocast('cpu', dtype=torch.bfloat16) runs nn.Linear: both operands
// rounded to bf16, sums in f32; weights, gradients and optimizer state stay f32). Attention, norms
// and the loss stay f32. Set for a whole run, not a scope: a backward, and a checkpointed block's
// replay, must compute as its forward did.
import { isQuantWeight, type Backend, type F32, type PackedBf16, type StoredWeight } from '../backend/backend.js';

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

const lastPacking = new WeakMap<object, Map<string, PackedBf16>>();

/**
 * Products of many A's with one weight operand op(B) [k, n] that does not change meanwhile (the fused
 * head's row blocks): in bf16, op(B) is rounded and packed once here instead of in every GEMM. The
 * packing's memory is kept with the weight for its next call; results equal weightGemm's.
 */
export function weightProduct(be: Backend, w: F32 | StoredWeight, n: number, k: number, transB: boolean):
  (c: F32, a: F32, m: number, transA: boolean, accumulate: boolean) => void {
  if (current !== 'bf16') return (c, a, m, transA, accumulate) => be.gemm(c, a, w, m, n, k, transA, transB, accumulate);
  if (!(w instanceof Float32Array) && isQuantWeight(w)) return (c, a, m, transA, accumulate) => be.gemmBf16(c, a, w, m, n, k, transA, transB, accumulate);
  // The weight's packing from its last call is overwritten, not reallocated: hundreds of MB of fresh
  // pages each step (a 262k-row head) cost more in page faults than the packing itself.
  let kept = lastPacking.get(w);
  if (!kept) lastPacking.set(w, kept = new Map());
  const key = `${n},${k},${transB}`;
  const b = be.packBf16(w, n, k, transB, kept.get(key));
  kept.set(key, b);
  return (c, a, m, transA, accumulate) => be.gemmBf16(c, a, b, m, n, k, transA, transB, accumulate);
}
