// The key/value cache for generation: per layer, keys and values of every token so far, so each
// new token costs one position of work instead of re-running the prefix.
import { Tensor } from '../tensor/tensor.js';
import { attention } from '../tensor/ops/attention.js';
import { ShapeError } from '../tensor/shape.js';
import { backend } from '../backend/select.js';
import type { ForwardOptions } from './causal_lm.js';

export class KVCache {
  /** Tokens already in the cache (the next token's position). */
  length = 0;
  readonly k: Float32Array[]; // per layer (B, maxLen, KVH, D)
  readonly v: Float32Array[];
  constructor(readonly numLayers: number, readonly batch: number, readonly maxLen: number,
    readonly kvHeads: number, readonly headDim: number) {
    const n = batch * maxLen * kvHeads * headDim;
    this.k = Array.from({ length: numLayers }, () => new Float32Array(n));
    this.v = Array.from({ length: numLayers }, () => new Float32Array(n));
  }

  /** Called by the model after all layers have appended `tokens` positions. */
  advance(tokens: number): void {
    this.length += tokens;
  }
}

/**
 * Appends this step's k, v ([B, Tn, KVH, D]) to the cache of `layer` and attends q ([B, Tn, H, D])
 * causally over all cached positions. Runs under noGrad (generation only).
 */
export function attendWithCache(cache: KVCache, layer: number, q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  const [B, Tn, H, D] = q.shape;
  const KVH = k.shape[2];
  const past = cache.length;
  if (B !== cache.batch || KVH !== cache.kvHeads || D !== cache.headDim) {
    throw new ShapeError('attendWithCache', `q [${q.shape}] / k [${k.shape}] do not fit the cache (batch ${cache.batch}, ${cache.kvHeads} kv heads, head dim ${cache.headDim})`);
  }
  if (past + Tn > cache.maxLen) throw new RangeError(`kv cache: ${past + Tn} positions exceed its ${cache.maxLen}`);
  const row = KVH * D;
  const ck = cache.k[layer], cv = cache.v[layer];
  for (let b = 0; b < B; b++) {
    ck.set(k.data.subarray(b * Tn * row, (b + 1) * Tn * row), (b * cache.maxLen + past) * row);
    cv.set(v.data.subarray(b * Tn * row, (b + 1) * Tn * row), (b * cache.maxLen + past) * row);
  }
  // An empty cache is plain causal attention over this step's tokens: the fused kernel.
  if (past === 0) return attention(q, k, v, { causal: true, scale });

  const out = Tensor.empty(q.shape);
  backend().attentionDecode(out.data, q.data, ck, cv, B, Tn, past, cache.maxLen, H, KVH, D, scale);
  return out;
}

/** The longest cached prefix among the rows of this call (0 without a cache). */
export function cachedLength(opts: ForwardOptions): number {
  if (opts.cache) return opts.cache.length;
  let past = 0;
  for (const c of opts.rowCaches ?? []) past = Math.max(past, c.length);
  return past;
}

/** [B*T] position ids continuing each row's cache (all rows share the cache's length with `cache`). */
export function cachedPositions(opts: ForwardOptions, batch: number, seqLen: number): Int32Array {
  const rows = opts.rowCaches;
  if (rows && rows.length !== batch) throw new ShapeError('rowCaches', `${rows.length} caches for a batch of ${batch} rows`);
  const p = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    const past = rows ? rows[b].length : opts.cache?.length ?? 0;
    for (let t = 0; t < seqLen; t++) p[b * seqLen + t] = past + t;
  }
  return p;
}

/** After all layers ran: every cache of this call now holds seqLen more positions. */
export function advanceCaches(opts: ForwardOptions, seqLen: number): void {
  opts.cache?.advance(seqLen);
  for (const c of opts.rowCaches ?? []) c.advance(seqLen);
}

/**
 * Attention through the cache(s) of this call, or null without one (the caller then runs plain
 * causal attention). With rowCaches each row attends over its own cache.
 */
export function attendCached(opts: ForwardOptions, layer: number, q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor | null {
  if (opts.cache) return attendWithCache(opts.cache, layer, q, k, v, scale);
  const rows = opts.rowCaches;
  if (!rows) return null;
  const [B, Tn, H, D] = q.shape;
  const KVH = k.shape[2];
  if (rows.length !== B) throw new ShapeError('attendCached', `${rows.length} caches for q [${q.shape}]`);
  const out = Tensor.empty(q.shape); // (B, Tn, H, D)
  const qRow = Tn * H * D, kRow = Tn * KVH * D;
  for (let b = 0; b < B; b++) {
    const y = attendWithCache(rows[b], layer,
      Tensor.from(q.data.subarray(b * qRow, (b + 1) * qRow), [1, Tn, H, D]),
      Tensor.from(k.data.subarray(b * kRow, (b + 1) * kRow), [1, Tn, KVH, D]),
      Tensor.from(v.data.subarray(b * kRow, (b + 1) * kRow), [1, Tn, KVH, D]), scale);
    out.data.set(y.data, b * qRow);
  }
  return out;
}
