// Pointwise activations: GPT-2's tanh GELU (gelu_new), Llama's SiLU, BERT's erf GELU and tanh. Their outputs are cheap to
// recompute from the input their own backward keeps, so forward blocks may drop them.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';

export function gelu(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  const be = backend();
  be.geluForward(out.data, x.data, x.size);
  out.recomputableFrom([x], (o) => be.geluForward(o, x.data, x.size));
  record('gelu', out, [x], [x], () => be.geluBackward(x.gradBuffer(), out.grad!, x.data, x.size));
  return out;
}

export function silu(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  const be = backend();
  be.siluForward(out.data, x.data, x.size);
  out.recomputableFrom([x], (o) => be.siluForward(o, x.data, x.size));
  record('silu', out, [x], [x], () => be.siluBackward(x.gradBuffer(), out.grad!, x.data, x.size));
  return out;
}

/** BERT's exact gelu (hidden_act "gelu"): x Phi(x). */
export function geluErf(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  const be = backend();
  be.geluErfForward(out.data, x.data, x.size);
  out.recomputableFrom([x], (o) => be.geluErfForward(o, x.data, x.size));
  record('geluErf', out, [x], [x], () => be.geluErfBackward(x.gradBuffer(), out.grad!, x.data, x.size));
  return out;
}

export function tanh(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  const be = backend();
  be.tanhForward(out.data, x.data, x.size);
  record('tanh', out, [x], [out], () => be.tanhBackward(x.gradBuffer(), out.grad!, out.data, x.size));
  return out;
}

/** ReLU, for small tensors (DistilBERT's classifier input, [B, dim]): plain loops, the gradient passes where y > 0 (torch's choice at 0). */
export function relu(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  for (let i = 0; i < x.size; i++) out.data[i] = x.data[i] > 0 ? x.data[i] : 0;
  record('relu', out, [x], [out], () => {
    const dx = x.gradBuffer(), dout = out.grad!;
    for (let i = 0; i < x.size; i++) if (out.data[i] > 0) dx[i] += dout[i];
  });
  return out;
}
