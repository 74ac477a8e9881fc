// The lm_head and the cross-entropy fused, a block of rows at a time, so the [rows, vocab] logits
// (200 MB for GPT-2 at 1024 tokens, and as much again for their gradient) never exist. When a
// gradient is wanted, each block's gradient is taken while its logits are at hand: backward is
// then two axpys, and nothing but the small results is kept. Rows without a target (-100: prompt
// tokens under completion-only loss, padding) are skipped entirely: no logits are computed for them.
import { backend } from '../../backend/select.js';
import { weightGemm, weightProduct } from '../compute_dtype.js';
import { Tensor } from '../tensor.js';
import { needsGrad, record } from '../tape.js';
import { ShapeError, shapeStr } from '../shape.js';
import { IGNORE_INDEX } from './loss.js';

export interface LinearCrossEntropyOptions {
  /** The loss is sum(per-token losses) / divisor; defaults to the number of targets that are not -100. */
  divisor?: number;
  /** Rows per block; defaults to about 32 MB of logits. */
  blockRows?: number;
}

// Blocks much smaller than this cost speed: each re-packs the weight for its GEMMs and, when the
// weight trains, re-reads and re-writes its whole gradient. Larger ones measured no faster.
const BLOCK_FLOATS = 8 * 1024 * 1024;

/** hidden [..., C] @ weight [V, C]^T -> logits, then cross-entropy against targets [rows] -> scalar. */
export function linearCrossEntropy(hidden: Tensor, weight: Tensor, targets: Int32Array, opts: LinearCrossEntropyOptions = {}): Tensor {
  const C = hidden.shape[hidden.rank - 1];
  if (weight.rank !== 2 || weight.shape[1] !== C) {
    throw new ShapeError('linearCrossEntropy', `weight ${shapeStr(weight.shape)} does not fit hidden ${shapeStr(hidden.shape)} (expected [vocab, ${C}])`);
  }
  const V = weight.shape[0];
  const rows = hidden.size / C;
  if (targets.length !== rows) throw new ShapeError('linearCrossEntropy', `${targets.length} targets for hidden ${shapeStr(hidden.shape)} (${rows} rows)`);
  const kept: number[] = [];
  for (let i = 0; i < rows; i++) {
    const t = targets[i];
    if (t === IGNORE_INDEX) continue;
    if (!(t >= 0 && t < V)) throw new RangeError(`linearCrossEntropy: target ${t} at row ${i} is outside the vocabulary of ${V}`);
    kept.push(i);
  }
  const divisor = opts.divisor ?? kept.length;
  const wantGrad = needsGrad([hidden, weight]);
  const block = Math.max(1, Math.min(kept.length, opts.blockRows ?? Math.max(16, Math.floor(BLOCK_FLOATS / V))));
  const dHidden = wantGrad && hidden.requiresGrad ? Tensor.zeros(hidden.shape) : null; // per unit of loss-sum
  const dWeight = wantGrad && weight.requiresGrad ? Tensor.zeros(weight.shape) : null;

  const be = backend();
  const mm = weightGemm(be); // the head's products; softmax and the loss stay f32
  const h = Tensor.empty([block, C]), logits = Tensor.empty([block, V]);
  const losses = Tensor.empty([block]), lse = Tensor.empty([block]);
  const tgt = new Int32Array(block);
  const dLogits = wantGrad ? Tensor.empty([block, V]) : null;
  const ones = wantGrad ? Tensor.empty([block]) : null;
  ones?.data.fill(1);
  const dh = dHidden ? Tensor.empty([block, C]) : null;
  let sum = 0;
  const x = hidden.data, W = weight.weightOperand;
  // The weight is the same operand in every block: in bf16 it is rounded and packed once per call.
  const logitsOf = weightProduct(be, W, V, C, true);                  // (n, V) = h (n, C) @ W^T
  const dHiddenOf = dh ? weightProduct(be, W, C, V, false) : null;   // (n, C) = dlogits (n, V) @ W (V, C)
  for (let start = 0; start < kept.length; start += block) {
    const n = Math.min(block, kept.length - start);
    for (let r = 0; r < n; r++) {
      const row = kept[start + r];
      h.data.set(x.subarray(row * C, row * C + C), r * C);
      tgt[r] = targets[row];
    }
    logitsOf(logits.data, h.data, n, false, false);
    be.crossEntropyForward(losses.data, lse.data, logits.data, tgt, n, V);
    sum += be.sum(losses.data, n);
    if (!dLogits) continue;
    dLogits.data.fill(0, 0, n * V);
    be.crossEntropyBackward(dLogits.data, ones!.data, logits.data, lse.data, tgt, n, V);
    if (dh && dHidden) {
      dHiddenOf!(dh.data, dLogits.data, n, false, false);
      for (let r = 0; r < n; r++) dHidden.data.set(dh.data.subarray(r * C, r * C + C), kept[start + r] * C);
    }
    if (dWeight) mm(dWeight.data, dLogits.data, h.data, V, C, n, true, false, true); // (V, C) += dlogits^T h
  }
  for (const t of [h, logits, losses, lse, dLogits, ones, dh]) t?.dispose();

  const out = Tensor.empty([]);
  out.data[0] = divisor > 0 ? sum / divisor : 0;
  const saved = [dHidden, dWeight].filter((t): t is Tensor => t !== null);
  record('linearCrossEntropy', out, [hidden, weight], saved, () => {
    const g = divisor > 0 ? out.grad![0] / divisor : 0;
    if (dHidden) be.axpy(hidden.gradBuffer(), g, dHidden.data, hidden.size);
    if (dWeight) be.axpy(weight.gradBuffer(), g, dWeight.data, weight.size);
  });
  if (!out.requiresGrad) for (const t of saved) t.dispose();
  return out;
}
