// LoRA's linear as one op: y = x W (+ b) + scaling * dropout(x) A^T B^T, written into one output.
// Composed from linear/add/scale it would make three output-sized tensors per layer (the base
// output, the delta, the scaled delta) and keep a dropped copy of x for backward; here the delta
// is accumulated into y by the GEMM, and the dropout mask is a hash, so backward regenerates
// dropout(x) from x instead of keeping it. Saved: x (when A trains) and the [rows, r] low-rank
// activation.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { dropoutMaskOffset } from './dropout.js';
import { ShapeError, shapeStr } from '../shape.js';
import type { WeightLayout } from './linear.js';
import { weightGemm } from '../compute_dtype.js';

export interface LoraPath {
  /** [r, in] */
  a: Tensor;
  /** [out, r] */
  b: Tensor;
  scaling: number;
  /** Dropout on the adapter's input (0 when not training). */
  p: number;
  seed: number;
}

/** x [..., in] -> [..., out]; weight in `layout` as for linear(). */
export function loraLinear(x: Tensor, weight: Tensor, bias: Tensor | null, layout: WeightLayout, lora: LoraPath): Tensor {
  const [inF, outF] = layout === 'out_in' ? [weight.shape[1], weight.shape[0]] : [weight.shape[0], weight.shape[1]];
  const r = lora.a.shape[0];
  if (x.shape[x.rank - 1] !== inF) throw new ShapeError('loraLinear', `input ${shapeStr(x.shape)} does not match weight ${shapeStr(weight.shape)} (${layout}: in_features ${inF})`);
  if (lora.a.rank !== 2 || lora.a.shape[1] !== inF || lora.b.rank !== 2 || lora.b.shape[0] !== outF || lora.b.shape[1] !== r) {
    throw new ShapeError('loraLinear', `lora_A ${shapeStr(lora.a.shape)} and lora_B ${shapeStr(lora.b.shape)} do not fit [${r}, ${inF}] and [${outF}, ${r}]`);
  }
  const rows = x.size / inF;
  const transW = layout === 'out_in';
  const { a, b, p, seed } = lora;
  const s = Math.fround(lora.scaling);
  const be = backend();
  const offset = p === 0 ? 0 : dropoutMaskOffset(rows * inF);
  const mm = weightGemm(be); // the base weight's products; the low-rank ones stay f32

  // The adapter's input: x, or a dropped copy of it (rebuilt in backward from the same seed).
  const adapterInput = (): { data: Float32Array; done: () => void } => {
    if (p === 0) return { data: x.data, done: () => {} };
    const tmp = Tensor.empty([rows, inF]);
    be.dropoutForward(tmp.data, x.data, rows * inF, p, seed, offset);
    return { data: tmp.data, done: () => tmp.dispose() };
  };

  const out = Tensor.empty([...x.shape.slice(0, -1), outF]);
  mm(out.data, x.data, weight.weightOperand, rows, outF, inF, false, transW, false);
  if (bias) be.addBias(out.data, bias.data, rows, outF);
  const low = Tensor.empty([rows, r]); // scaling * dropout(x) A^T
  const input = adapterInput();
  be.gemm(low.data, input.data, a.data, rows, r, inF, false, true, false);
  input.done();
  be.scale(low.data, low.data, s, rows * r);
  be.gemm(out.data, low.data, b.data, rows, outF, r, false, true, true); // y += low B^T

  const inputs = [x, weight, ...(bias ? [bias] : []), a, b];
  record('loraLinear', out, inputs, a.requiresGrad || weight.requiresGrad ? [x, low] : [low], () => {
    const dout = out.grad!;
    if (b.requiresGrad) be.gemm(b.gradBuffer(), dout, low.data, outF, r, rows, true, false, true); // (out, r) += dout^T low
    const dlow = Tensor.empty([rows, r]); // d(loss)/d(dropout(x) A^T) = scaling * dout B
    be.gemm(dlow.data, dout, b.data, rows, r, outF, false, false, false);
    be.scale(dlow.data, dlow.data, s, rows * r);
    if (a.requiresGrad) {
      const xin = adapterInput();
      be.gemm(a.gradBuffer(), dlow.data, xin.data, r, inF, rows, true, false, true); // (r, in) += dlow^T dropout(x)
      xin.done();
    }
    if (x.requiresGrad) {
      const dx = x.gradBuffer();
      mm(dx, dout, weight.weightOperand, rows, inF, outF, false, !transW, true); // base: dout op(W)^T
      if (p === 0) {
        be.gemm(dx, dlow.data, a.data, rows, inF, r, false, false, true);    // adapter: dlow A
      } else {
        const dxin = Tensor.empty([rows, inF]);
        be.gemm(dxin.data, dlow.data, a.data, rows, inF, r, false, false, false);
        be.dropoutBackward(dx, dxin.data, rows * inF, p, seed, offset);
        dxin.dispose();
      }
    }
    dlow.dispose();
    if (weight.requiresGrad) {
      if (transW) mm(weight.gradBuffer(), dout, x.data, outF, inF, rows, true, false, true);
      else mm(weight.gradBuffer(), x.data, dout, inF, outF, rows, true, false, true);
    }
    if (bias?.requiresGrad) be.sumRows(bias.gradBuffer(), dout, rows, outF);
  });
  return out;
}
