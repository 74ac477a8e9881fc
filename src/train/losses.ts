// The causal-LM objective with Hugging Face's convention: labels are aligned with the inputs and
// shifted inside the loss (logits at t predict labels[t + 1]); -100 is ignored.
import type { Tensor } from '../tensor/tensor.js';
import { crossEntropy, IGNORE_INDEX } from '../tensor/ops/loss.js';
import { linearCrossEntropy } from '../tensor/ops/linear_cross_entropy.js';
import { forwardBlock } from '../tensor/tape.js';
import type { CausalLM, ForwardOptions } from '../models/causal_lm.js';

/** labels [B*T] (aligned with the inputs) -> targets [B*T] for logits at each position. */
export function shiftLabels(labels: Int32Array, batch: number, seqLen: number): Int32Array {
  const targets = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    const row = b * seqLen;
    for (let t = 0; t < seqLen - 1; t++) targets[row + t] = labels[row + t + 1];
    targets[row + seqLen - 1] = IGNORE_INDEX;
  }
  return targets;
}

export function countTargets(labels: Int32Array, batch: number, seqLen: number): number {
  let n = 0;
  for (let b = 0; b < batch; b++) for (let t = 1; t < seqLen; t++) if (labels[b * seqLen + t] !== IGNORE_INDEX) n++;
  return n;
}

/**
 * Mean next-token cross-entropy over the non-ignored targets, or sum / divisor when a divisor is
 * given (gradient accumulation divides by the tokens of all micro-batches together).
 */
export function causalLMLoss(logits: Tensor, labels: Int32Array, batch: number, seqLen: number, divisor?: number): Tensor {
  return crossEntropy(logits, shiftLabels(labels, batch, seqLen), divisor === undefined ? {} : { divisor });
}

/**
 * The same loss straight from the model, without materialising the [B, T, vocab] logits: the
 * lm_head and cross-entropy run fused in row blocks (see linearCrossEntropy). What training uses.
 */
export function causalLMModelLoss(model: CausalLM, ids: Int32Array, labels: Int32Array, batch: number, seqLen: number,
  opts: ForwardOptions = {}, divisor?: number): Tensor {
  const targets = shiftLabels(labels, batch, seqLen);
  // One block around the final norm and the loss: the norm's output is read by nobody afterwards.
  return forwardBlock(() => linearCrossEntropy(model.hiddenStates(ids, batch, seqLen, opts), model.outputWeight, targets,
    divisor === undefined ? {} : { divisor }));
}
