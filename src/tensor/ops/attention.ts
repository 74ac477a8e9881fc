// Fused scaled dot-product attention (flash-style kernels: no [B, H, T, T] tensor) and rotary embeddings.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, shapeStr } from '../shape.js';

export interface AttentionOptions {
  /** Query t sees keys <= t (default true). */
  causal?: boolean;
  /** [B, T] segment ids: attention stays within a segment (packed sequences). */
  segments?: Int32Array | null;
  /** Defaults to 1 / sqrt(headDim). */
  scale?: number;
  /** Sliding window: query t sees keys s > t - window (HF's sliding_window); null or 0 = unlimited. */
  window?: number | null;
}

/** q [B, T, H, D], k and v [B, T, KVH, D] -> [B, T, H, D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new ShapeError('attention', `q, k, v must be [B, T, H, D]; got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  }
  const [Bn, T, H, D] = q.shape;
  const KVH = k.shape[2];
  if (k.shape[0] !== Bn || k.shape[1] !== T || k.shape[3] !== D || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new ShapeError('attention', `k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} do not fit q ${shapeStr(q.shape)}`);
  }
  if (H % KVH !== 0) throw new ShapeError('attention', `query heads ${H} are not a multiple of kv heads ${KVH}`);
  const causal = opts.causal ?? true;
  const segments = opts.segments ?? null;
  if (segments && segments.length < Bn * T) throw new ShapeError('attention', `segments has ${segments.length} ids, needs ${Bn * T}`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  // A window at least as long as the sequence masks nothing: 0 keeps the kernels' fastest path.
  const window = opts.window && opts.window < T ? opts.window : 0;
  const out = Tensor.empty(q.shape);
  const lse = Tensor.empty([Bn, H, T]); // saved for backward
  const be = backend();
  be.attentionForward(out.data, lse.data, q.data, k.data, v.data, Bn, T, H, KVH, D, scale, causal, segments, window);
  record('attention', out, [q, k, v], [q, k, v, out, lse], () => {
    const dq = q.requiresGrad ? q.gradBuffer() : Tensor.zeros(q.shape).data;
    const dk = k.requiresGrad ? k.gradBuffer() : Tensor.zeros(k.shape).data;
    const dv = v.requiresGrad ? v.gradBuffer() : Tensor.zeros(v.shape).data;
    be.attentionBackward(dq, dk, dv, out.grad!, q.data, k.data, v.data, out.data, lse.data, Bn, T, H, KVH, D, scale, causal, segments, window);
  });
  return out;
}

/** Rotary position embedding (rotate_half form) on x [B, T, H, D]; cos, sin [maxPos, D/2]; positions [B*T]. */
export function rope(x: Tensor, cos: Float32Array, sin: Float32Array, positions: Int32Array): Tensor {
  if (x.rank !== 4) throw new ShapeError('rope', `x must be [B, T, H, D], got ${shapeStr(x.shape)}`);
  const [Bn, T, H, D] = x.shape;
  if (D % 2 !== 0) throw new ShapeError('rope', `head dim ${D} must be even`);
  if (positions.length < Bn * T) throw new ShapeError('rope', `${positions.length} positions for ${Bn * T} tokens`);
  const out = Tensor.empty(x.shape);
  const be = backend();
  be.rope(out.data, x.data, cos, sin, positions, Bn * T, H, D, false);
  record('rope', out, [x], [], () => {
    const tmp = Tensor.empty(x.shape);
    be.rope(tmp.data, out.grad!, cos, sin, positions, Bn * T, H, D, true);
    be.axpy(x.gradBuffer(), 1, tmp.data, x.size);
  });
  return out;
}
