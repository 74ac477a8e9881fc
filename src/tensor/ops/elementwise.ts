// Same-shape elementwise ops (residual adds, gating) and scaling.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, sameShape, shapeStr } from '../shape.js';

function checkSame(op: string, a: Tensor, b: Tensor): void {
  if (!sameShape(a.shape, b.shape)) throw new ShapeError(op, `shapes differ: ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
}

export function add(a: Tensor, b: Tensor): Tensor {
  checkSame('add', a, b);
  const out = Tensor.empty(a.shape);
  const be = backend();
  be.add(out.data, a.data, b.data, a.size);
  record('add', out, [a, b], [], () => {
    if (a.requiresGrad) be.axpy(a.gradBuffer(), 1, out.grad!, a.size);
    if (b.requiresGrad) be.axpy(b.gradBuffer(), 1, out.grad!, b.size);
  });
  return out;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  checkSame('mul', a, b);
  const out = Tensor.empty(a.shape);
  const be = backend();
  be.mul(out.data, a.data, b.data, a.size);
  record('mul', out, [a, b], [...(a.requiresGrad ? [b] : []), ...(b.requiresGrad ? [a] : [])], () => {
    if (a.requiresGrad) be.addMul(a.gradBuffer(), 1, out.grad!, b.data, a.size);
    if (b.requiresGrad) be.addMul(b.gradBuffer(), 1, out.grad!, a.data, b.size);
  });
  return out;
}

export function scale(a: Tensor, s: number): Tensor {
  const out = Tensor.empty(a.shape);
  const be = backend();
  be.scale(out.data, a.data, s, a.size);
  record('scale', out, [a], [], () => be.axpy(a.gradBuffer(), s, out.grad!, a.size));
  return out;
}
