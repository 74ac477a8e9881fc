// The sequence classifier's other two losses, over logits [B, num_labels] (a few hundred numbers: plain
// loops, no kernel): multi-label BCE-with-logits and regression MSE, both means over every element as torch's.
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, shapeStr } from '../shape.js';

/** torch.nn.BCEWithLogitsLoss(weight=): mean of w_j (max(x,0) - x y + log(1 + e^-|x|)); weights [L] per label. */
export function bceWithLogits(logits: Tensor, targets: Float32Array, weights: Float32Array | null = null): Tensor {
  const n = logits.size, L = logits.shape[logits.rank - 1];
  if (targets.length !== n) throw new ShapeError('bceWithLogits', `${targets.length} targets for logits ${shapeStr(logits.shape)}`);
  if (weights && weights.length !== L) throw new ShapeError('bceWithLogits', `${weights.length} label weights for ${L} labels`);
  const x = logits.data;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i % L] : 1;
    sum += w * (Math.max(x[i], 0) - x[i] * targets[i] + Math.log1p(Math.exp(-Math.abs(x[i]))));
  }
  const out = Tensor.empty([]);
  out.data[0] = sum / n;
  record('bceWithLogits', out, [logits], [logits], () => {
    const g = out.grad![0] / n, dx = logits.gradBuffer();
    for (let i = 0; i < n; i++) dx[i] += g * (weights ? weights[i % L] : 1) * (1 / (1 + Math.exp(-x[i])) - targets[i]);
  });
  return out;
}

/** torch.nn.MSELoss: mean of (x - y)^2 over every element. */
export function mseLoss(pred: Tensor, targets: Float32Array): Tensor {
  const n = pred.size;
  if (targets.length !== n) throw new ShapeError('mseLoss', `${targets.length} targets for predictions ${shapeStr(pred.shape)}`);
  const x = pred.data;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (x[i] - targets[i]) ** 2;
  const out = Tensor.empty([]);
  out.data[0] = sum / n;
  record('mseLoss', out, [pred], [pred], () => {
    const g = (2 * out.grad![0]) / n, dx = pred.gradBuffer();
    for (let i = 0; i < n; i++) dx[i] += g * (x[i] - targets[i]);
  });
  return out;
}
