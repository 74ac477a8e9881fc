// Layout ops: reshape (a view), and copies for transpose, split, concat and slice. They move
// memory only (TypedArray.set is a memcpy), so they stay in TypeScript; scatterRows (unpacking
// packed tokens) runs on the embedding gather/scatter kernels.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { type Shape, ShapeError, axisOf, inferShape, shapeStr, sizeOf } from '../shape.js';

export function reshape(x: Tensor, shape: Shape): Tensor {
  const out = x.view(inferShape('reshape', x.shape, shape));
  record('reshape', out, [x], [], () => backend().axpy(x.gradBuffer(), 1, out.grad!, x.size));
  return out;
}

/** Copies the block [start, end) of axis `axis` of src (viewed [outer, len, inner]) into dst at dstStart. */
function copyAxis(dst: Float32Array, dstLen: number, dstStart: number, src: Float32Array, srcLen: number,
  start: number, end: number, outer: number, inner: number, accumulate: boolean): void {
  const w = (end - start) * inner;
  for (let o = 0; o < outer; o++) {
    const s = src.subarray((o * srcLen + start) * inner, (o * srcLen + start) * inner + w);
    const d = (o * dstLen + dstStart) * inner;
    if (accumulate) for (let i = 0; i < w; i++) dst[d + i] += s[i];
    else dst.set(s, d);
  }
}

function outerInner(shape: Shape, axis: number): [number, number] {
  return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis + 1))];
}

/** Elements [start, end) along axis. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = axisOf('slice', axis, x.rank);
  const len = x.shape[a];
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= len)) {
    throw new ShapeError('slice', `range [${start}, ${end}) is outside axis ${a} of ${shapeStr(x.shape)}`);
  }
  const [outer, inner] = outerInner(x.shape, a);
  const shape = [...x.shape];
  shape[a] = end - start;
  const out = Tensor.empty(shape);
  copyAxis(out.data, end - start, 0, x.data, len, start, end, outer, inner, false);
  record('slice', out, [x], [], () => {
    // Scatter the slice's gradient back into its place in x's gradient.
    const dx = x.gradBuffer(), dout = out.grad!;
    const w = (end - start) * inner;
    for (let o = 0; o < outer; o++) {
      const d = (o * len + start) * inner, s = o * w;
      for (let i = 0; i < w; i++) dx[d + i] += dout[s + i];
    }
  });
  return out;
}

/** Splits axis into consecutive parts of the given sizes (e.g. GPT-2's fused qkv). */
export function split(x: Tensor, sizes: readonly number[], axis = -1): Tensor[] {
  const a = axisOf('split', axis, x.rank);
  const total = sizes.reduce((s, n) => s + n, 0);
  if (total !== x.shape[a]) throw new ShapeError('split', `sizes [${sizes.join(', ')}] do not sum to axis ${a} of ${shapeStr(x.shape)}`);
  const parts: Tensor[] = [];
  let start = 0;
  for (const n of sizes) {
    parts.push(slice(x, a, start, start + n));
    start += n;
  }
  return parts;
}

/** Joins tensors along axis; all other dims must agree. */
export function concat(xs: readonly Tensor[], axis = -1): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'no tensors to concatenate');
  const a = axisOf('concat', axis, xs[0].rank);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new ShapeError('concat', `shapes do not agree off axis ${a}: ${xs.map((t) => shapeStr(t.shape)).join(', ')}`);
    }
  }
  const total = xs.reduce((s, t) => s + t.shape[a], 0);
  const shape = [...xs[0].shape];
  shape[a] = total;
  const [outer, inner] = outerInner(shape, a);
  const out = Tensor.empty(shape);
  let at = 0;
  for (const t of xs) {
    copyAxis(out.data, total, at, t.data, t.shape[a], 0, t.shape[a], outer, inner, false);
    at += t.shape[a];
  }
  record('concat', out, xs, [], () => {
    let off = 0;
    for (const t of xs) {
      const len = t.shape[a];
      if (t.requiresGrad) copyAxis(t.gradBuffer(), len, 0, out.grad!, total, off, off + len, outer, inner, true);
      off += len;
    }
  });
  return out;
}

/** Swaps two axes (a copy). */
export function transpose(x: Tensor, axis1: number, axis2: number): Tensor {
  let a1 = axisOf('transpose', axis1, x.rank), a2 = axisOf('transpose', axis2, x.rank);
  if (a1 === a2) return reshape(x, x.shape);
  if (a1 > a2) [a1, a2] = [a2, a1];
  const s = x.shape;
  const A = sizeOf(s.slice(0, a1)), d1 = s[a1], M = sizeOf(s.slice(a1 + 1, a2)), d2 = s[a2], C = sizeOf(s.slice(a2 + 1));
  const shape = [...s];
  shape[a1] = d2;
  shape[a2] = d1;
  const out = Tensor.empty(shape);
  // x viewed [A, d1, M, d2, C] -> out [A, d2, M, d1, C]
  const move = (dst: Float32Array, src: Float32Array, inverse: boolean, accumulate: boolean) => {
    for (let a = 0; a < A; a++) for (let i = 0; i < d1; i++) for (let m = 0; m < M; m++) for (let j = 0; j < d2; j++) {
      const xi = (((a * d1 + i) * M + m) * d2 + j) * C;
      const oi = (((a * d2 + j) * M + m) * d1 + i) * C;
      const [di, si] = inverse ? [xi, oi] : [oi, xi];
      if (accumulate) for (let c = 0; c < C; c++) dst[di + c] += src[si + c];
      else for (let c = 0; c < C; c++) dst[di + c] = src[si + c];
    }
  };
  move(out.data, x.data, false, false);
  record('transpose', out, [x], [], () => move(x.gradBuffer(), out.grad!, true, true));
  return out;
}

/**
 * x [N, ...row] -> [rows, ...row]: row i of x lands at row index[i], every other row is 0 (packed
 * tokens back in their padded batch). index: N distinct rows in [0, rows).
 */
export function scatterRows(x: Tensor, index: Int32Array, rows: number): Tensor {
  const n = x.rank > 0 ? x.shape[0] : 0;
  if (x.rank < 1 || index.length !== n) throw new ShapeError('scatterRows', `${index.length} row indices for x ${shapeStr(x.shape)}`);
  const seen = new Uint8Array(rows);
  for (let i = 0; i < n; i++) {
    const r = index[i];
    if (!(r >= 0 && r < rows) || seen[r]) throw new RangeError(`scatterRows: index[${i}] = ${r} is ${seen[r] ? 'repeated' : `outside [0, ${rows})`}`);
    seen[r] = 1;
  }
  const dim = n > 0 ? x.size / n : sizeOf(x.shape.slice(1));
  const out = Tensor.zeros([rows, ...x.shape.slice(1)]);
  const be = backend();
  be.embeddingBackward(out.data, x.data, index, n, dim); // out[index[i]] += x[i], onto zeros
  record('scatterRows', out, [x], [], () => {
    const g = Tensor.empty(x.shape);
    be.embeddingForward(g.data, out.grad!, index, n, dim); // dx[i] = dout[index[i]]
    be.axpy(x.gradBuffer(), 1, g.data, x.size);
  });
  return out;
}
