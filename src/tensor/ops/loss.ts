// Cross-entropy fused with log-softmax (no softmax copy of the logits), and softmax itself.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, shapeStr } from '../shape.js';

import { IGNORE_INDEX } from '../../backend/backend.js';

export { IGNORE_INDEX };

export interface CrossEntropyOptions {
  /**
   * The loss is sum(per-token losses) / divisor. Defaults to the number of targets that are not
   * -100 (Hugging Face's mean); gradient accumulation passes the total over all micro-batches.
   */
  divisor?: number;
  /** [V] per-class weights (torch's CrossEntropyLoss(weight=)): the loss is sum(w_y l) / sum(w_y) then. */
  classWeights?: Float32Array | null;
}

/** logits [..., V], targets [rows] (-100 ignored) -> scalar. Zero targets give a loss of 0. */
export function crossEntropy(logits: Tensor, targets: Int32Array, opts: CrossEntropyOptions = {}): Tensor {
  const V = logits.shape[logits.rank - 1];
  const rows = logits.size / V;
  if (targets.length !== rows) throw new ShapeError('crossEntropy', `${targets.length} targets for logits ${shapeStr(logits.shape)} (${rows} rows)`);
  const w = opts.classWeights ?? null;
  if (w && w.length !== V) throw new ShapeError('crossEntropy', `${w.length} class weights for ${V} classes`);
  let count = 0;
  for (let i = 0; i < rows; i++) if (targets[i] !== IGNORE_INDEX) count += w ? w[targets[i]] : 1;
  const divisor = opts.divisor ?? count;
  const losses = Tensor.empty([rows]), lse = Tensor.empty([rows]);
  const be = backend();
  be.crossEntropyForward(losses.data, lse.data, logits.data, targets, rows, V);
  if (w) for (let i = 0; i < rows; i++) if (targets[i] !== IGNORE_INDEX) losses.data[i] *= w[targets[i]];
  const out = Tensor.empty([]);
  out.data[0] = divisor > 0 ? be.sum(losses.data, rows) / divisor : 0;
  record('crossEntropy', out, [logits], [logits, lse], () => {
    const g = divisor > 0 ? out.grad![0] / divisor : 0;
    const dlosses = Tensor.empty([rows]);
    dlosses.data.fill(g);
    if (w) for (let i = 0; i < rows; i++) if (targets[i] !== IGNORE_INDEX) dlosses.data[i] *= w[targets[i]];
    be.crossEntropyBackward(logits.gradBuffer(), dlosses.data, logits.data, lse.data, targets, rows, V);
  });
  return out;
}

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  const C = x.shape[x.rank - 1], rows = x.size / C;
  const out = Tensor.empty(x.shape);
  const be = backend();
  be.softmaxForward(out.data, x.data, rows, C);
  record('softmax', out, [x], [out], () => be.softmaxBackward(x.gradBuffer(), out.grad!, out.data, rows, C));
  return out;
}
