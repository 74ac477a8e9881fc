// Full reductions to a scalar.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';

export function sum(x: Tensor): Tensor {
  const out = Tensor.empty([]);
  const be = backend();
  out.data[0] = be.sum(x.data, x.size);
  record('sum', out, [x], [], () => {
    const g = out.grad![0], dx = x.gradBuffer();
    for (let i = 0; i < x.size; i++) dx[i] += g;
  });
  return out;
}

export function mean(x: Tensor): Tensor {
  const out = Tensor.empty([]);
  const be = backend();
  out.data[0] = x.size ? be.sum(x.data, x.size) / x.size : NaN;
  record('mean', out, [x], [], () => {
    const g = out.grad![0] / x.size, dx = x.gradBuffer();
    for (let i = 0; i < x.size; i++) dx[i] += g;
  });
  return out;
}
