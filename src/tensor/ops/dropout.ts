// Inverted dropout whose mask is a hash of (seed, index): reproducible, and never stored.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';

export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const out = Tensor.empty(x.shape);
  const B = backend();
  const s = seed >>> 0;
  B.dropoutForward(out.data, x.data, x.size, p, s);
  out.recomputableFrom([x], (o) => B.dropoutForward(o, x.data, x.size, p, s));
  record('dropout', out, [x], [], () => B.dropoutBackward(x.gradBuffer(), out.grad!, x.size, p, s));
  return out;
}
