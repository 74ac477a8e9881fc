// matmul and linear: the GEMM-backed ops. Backward is two more GEMMs (and a column sum for bias).
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, shapeStr } from '../shape.js';
import { weightGemm } from '../compute_dtype.js';

/**
 * How a weight is stored: 'out_in' is torch.nn.Linear's [out, in] (y = x W^T), 'in_out' is
 * GPT-2's Conv1D [in, out] (y = x W).
 */
export type WeightLayout = 'out_in' | 'in_out';

/** y [..., out] = x [..., in] @ W (+ bias [out]). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, layout: WeightLayout): Tensor {
  if (weight.rank !== 2) throw new ShapeError('linear', `weight must be 2-D, got ${shapeStr(weight.shape)}`);
  const [inF, outF] = layout === 'out_in' ? [weight.shape[1], weight.shape[0]] : [weight.shape[0], weight.shape[1]];
  const lastDim = x.shape[x.rank - 1];
  if (x.rank < 1 || lastDim !== inF) {
    throw new ShapeError('linear', `input ${shapeStr(x.shape)} does not match weight ${shapeStr(weight.shape)} (${layout}: in_features ${inF})`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new ShapeError('linear', `bias ${shapeStr(bias.shape)} does not match out_features ${outF}`);
  }
  const rows = x.size / inF;
  const transW = layout === 'out_in';
  const out = Tensor.empty([...x.shape.slice(0, -1), outF]); // (rows, out)
  const be = backend();
  const mm = weightGemm(be);
  mm(out.data, x.data, weight.weightOperand, rows, outF, inF, false, transW, false);
  if (bias) be.addBias(out.data, bias.data, rows, outF);
  record('linear', out, bias ? [x, weight, bias] : [x, weight], weight.requiresGrad ? [x, weight] : [weight], () => {
    const dout = out.grad!;
    if (x.requiresGrad) {
      // dx (rows, in) += dout (rows, out) @ op(W)^T
      mm(x.gradBuffer(), dout, weight.weightOperand, rows, inF, outF, false, !transW, true);
    }
    if (weight.requiresGrad) {
      if (transW) mm(weight.gradBuffer(), dout, x.data, outF, inF, rows, true, false, true); // (out, in) += dout^T x
      else mm(weight.gradBuffer(), x.data, dout, inF, outF, rows, true, false, true);       // (in, out) += x^T dout
    }
    if (bias?.requiresGrad) be.sumRows(bias.gradBuffer(), dout, rows, outF);
  });
  return out;
}

/**
 * a [..., M, K] @ b, where b is [K, N] (or [N, K] with transB) shared across a's leading dims,
 * or b is [..., K, N] with the same leading dims as a (batched).
 */
export function matmul(a: Tensor, b: Tensor, { transB = false } = {}): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new ShapeError('matmul', `operands must be at least 2-D, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const M = a.shape[a.rank - 2], K = a.shape[a.rank - 1];
  const bK = b.shape[b.rank - (transB ? 1 : 2)], N = b.shape[b.rank - (transB ? 2 : 1)];
  if (bK !== K) throw new ShapeError('matmul', `inner dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}${transB ? '^T' : ''}`);
  const batchA = a.size / (M * K);
  const batchB = b.size / (bK * N);
  if (b.rank > 2 && (b.rank !== a.rank || b.shape.slice(0, -2).some((d, i) => d !== a.shape[i]))) {
    throw new ShapeError('matmul', `batch dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
  }
  const shared = b.rank === 2;
  const out = Tensor.empty([...a.shape.slice(0, -2), M, N]);
  const be = backend();
  if (shared) {
    be.gemm(out.data, a.data, b.data, batchA * M, N, K, false, transB, false);
  } else {
    for (let i = 0; i < batchA; i++) {
      be.gemm(out.data.subarray(i * M * N), a.data.subarray(i * M * K), b.data.subarray(i * K * N), M, N, K, false, transB, false);
    }
  }
  record('matmul', out, [a, b], [...(b.requiresGrad ? [a] : []), ...(a.requiresGrad ? [b] : [])], () => {
    const dout = out.grad!;
    const steps = shared ? 1 : batchB;
    const rows = shared ? batchA * M : M;
    for (let i = 0; i < steps; i++) {
      const dO = dout.subarray(i * rows * N), A = a.data.subarray(i * rows * K), Bm = b.data.subarray(i * K * N);
      if (a.requiresGrad) be.gemm(a.gradBuffer().subarray(i * rows * K), dO, Bm, rows, K, N, false, !transB, true);
      if (b.requiresGrad) {
        const dB = b.gradBuffer().subarray(i * K * N);
        if (transB) be.gemm(dB, dO, A, N, K, rows, true, false, true);  // (N, K) += dout^T a
        else be.gemm(dB, A, dO, K, N, rows, true, false, true);         // (K, N) += a^T dout
      }
    }
  });
  return out;
}
