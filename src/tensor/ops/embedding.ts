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
  be.embeddingForward(out.data, weight.data, ids, n, C);
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
