// Gradient checkpointing (PyTorch's torch.utils.checkpoint): a block runs its forward without
// recording, keeping only its input; backward runs the forward again on a tape of its own and
// back-propagates through it. Activation memory is then one tensor per block, at the cost of a
// second forward. The recomputation is the same kernels on the same values, so the gradients are
// the non-checkpointed ones bit for bit (fn must be deterministic: dropout seeds replayed).
import { Tensor } from '../tensor.js';
import { needsGrad, noGrad, onOwnTape, record } from '../tape.js';
import { mul } from './elementwise.js';
import { sum } from './reduce.js';

/** y = fn(x), where fn reads the trainable tensors in `params` (a block's parameters). */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, params: readonly Tensor[]): Tensor {
  if (!needsGrad([x, ...params])) return fn(x);
  const y = noGrad(() => fn(x));
  record('checkpoint', y, [x, ...params], [x], () => {
    const dy = y.grad!;
    onOwnTape(() => {
      const xin = Tensor.from(Float32Array.from(x.data.subarray(0, x.size)), x.shape, x.requiresGrad);
      const y2 = fn(xin);
      // sum(y2 * dy) seeds y2's gradient with dy exactly (1 * 1 * dy), then backward runs the block's.
      sum(mul(y2, Tensor.from(Float32Array.from(dy.subarray(0, y.size)), y2.shape))).backward();
      if (x.requiresGrad) {
        const dx = x.gradBuffer(), d = xin.grad!;
        for (let i = 0; i < x.size; i++) dx[i] += d[i];
      }
    });
  });
  return y;
}
