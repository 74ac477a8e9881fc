// LayerNorm (GPT-2) and RMSNorm (Llama) over the last dimension; forward saves the per-row
// statistics that backward needs (llm.c's layernorm_forward/backward).
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, shapeStr } from '../shape.js';

function checkParam(op: string, x: Tensor, p: Tensor, what: string): void {
  const C = x.shape[x.rank - 1];
  if (p.rank !== 1 || p.shape[0] !== C) throw new ShapeError(op, `${what} ${shapeStr(p.shape)} does not match input ${shapeStr(x.shape)}`);
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  checkParam('layerNorm', x, weight, 'weight');
  checkParam('layerNorm', x, bias, 'bias');
  const C = x.shape[x.rank - 1], rows = x.size / C;
  const out = Tensor.empty(x.shape);
  const mean = Tensor.empty([rows]), rstd = Tensor.empty([rows]); // (rows,) saved for backward
  const be = backend();
  be.layerNormForward(out.data, mean.data, rstd.data, x.data, weight.data, bias.data, rows, C, eps);
  // The output (a LoRA input, say) is rebuilt from x in backward rather than kept; the kernel is
  // deterministic, so the statistics it writes to scratch equal the saved ones.
  out.recomputableFrom([x], (o) => {
    const m = new Float32Array(rows), r = new Float32Array(rows);
    be.layerNormForward(o, m, r, x.data, weight.data, bias.data, rows, C, eps);
  });
  record('layerNorm', out, [x, weight, bias], [x, mean, rstd, weight], () => {
    // The kernel writes all three gradients; frozen ones go to a scratch buffer that is dropped.
    const dx = x.requiresGrad ? x.gradBuffer() : Tensor.zeros(x.shape).data;
    const dw = weight.requiresGrad ? weight.gradBuffer() : Tensor.zeros([C]).data;
    const db = bias.requiresGrad ? bias.gradBuffer() : Tensor.zeros([C]).data;
    be.layerNormBackward(dx, dw, db, out.grad!, x.data, mean.data, rstd.data, weight.data, rows, C);
  });
  return out;
}

export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  checkParam('rmsNorm', x, weight, 'weight');
  const C = x.shape[x.rank - 1], rows = x.size / C;
  const out = Tensor.empty(x.shape);
  const rstd = Tensor.empty([rows]); // (rows,)
  const be = backend();
  be.rmsNormForward(out.data, rstd.data, x.data, weight.data, rows, C, eps);
  out.recomputableFrom([x], (o) => be.rmsNormForward(o, new Float32Array(rows), x.data, weight.data, rows, C, eps));
  record('rmsNorm', out, [x, weight], [x, rstd, weight], () => {
    const dx = x.requiresGrad ? x.gradBuffer() : Tensor.zeros(x.shape).data;
    const dw = weight.requiresGrad ? weight.gradBuffer() : Tensor.zeros([C]).data;
    be.rmsNormBackward(dx, dw, out.grad!, x.data, rstd.data, weight.data, rows, C);
  });
  return out;
}
