// Embedding lookup (gather) with a scatter-add backward.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { type Shape, ShapeError, shapeStr, sizeOf } from '../shape.js';

/**
 * weight [V, C], ids (shape idsShape) -> [...idsShape, C]. paddingIdx: as torch.nn.Embedding's
 * padding_idx, that row's lookups add no gradient (HF models set it to config.pad_token_id).
 */
export function embedding(weight: Tensor, ids: Int32Array, idsShape: Shape, paddingIdx: number | null = null): Tensor {
  if (weight.rank !== 2) throw new ShapeError('embedding', `weight must be 2-D, got ${shapeStr(weight.shape)}`);
  const n = sizeOf(idsShape);
  if (ids.length < n) throw new ShapeError('embedding', `${ids.length} ids for shape ${shapeStr(idsShape)}`);
  const [V, C] = weight.shape;
  for (let i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= V) throw new RangeError(`embedding: id ${ids[i]} at position ${i} is outside the table of ${V} rows (${weight.name || 'weight'})`);
  }
  const out = Tensor.empty([...idsShape, C]);
  const be = backend();
  const w = weight.weightOperand;
  if (w instanceof Float32Array) be.embeddingForward(out.data, w, ids, n, C);
  else {
    // Tables are never quantized (--base-quant takes linear weights only).
    if (!('bits' in w)) throw new Error(`embedding: ${weight.name || 'weight'} is held as ${w.dtype}; tables are kept in f32 or 16 bits`);
    // A frozen table kept in its stored bf16/f16: each looked-up row widened (exactly) on its own.
    const o = out.data, bf16 = w.dtype === 'BF16';
    for (let i = 0; i < n; i++) be.halfToF32(o.subarray(i * C, (i + 1) * C), w.bits.subarray(ids[i] * C, (ids[i] + 1) * C), C, bf16);
  }
  record('embedding', out, [weight], [], () => {
    let dout = out.grad!;
    if (paddingIdx !== null && ids.subarray(0, n).includes(paddingIdx)) {
      dout = Float32Array.from(dout);
      for (let i = 0; i < n; i++) if (ids[i] === paddingIdx) dout.fill(0, i * C, (i + 1) * C);
    }
    be.embeddingBackward(weight.gradBuffer(), dout, ids, n, C);
  });
  return out;
}
