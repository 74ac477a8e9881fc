// The key/value cache for generation: per layer, keys and values of the tokens so far, so each
// new token costs one position of work instead of re-running the prefix. A sliding-window layer
// keeps a window-sized ring (position p in slot p % capacity) instead of the whole sequence.
import { Tensor } from '../tensor/tensor.js';
import { attention } from '../tensor/ops/attention.js';
import { ShapeError } from '../tensor/shape.js';
import { backend } from '../backend/select.js';
import type { ForwardOptions } from './causal_lm.js';

export class KVCache {
  /** Tokens already in the cache (the next token's position). */
  length = 0;
  readonly k: Float32Array[]; // per layer (B, capacity[layer], KVH, D)
  readonly v: Float32Array[];
  /** Slots per layer: maxLen, or the layer's window when it is shorter. */
  readonly capacity: number[];
  /** windows[layer]: the layer's sliding window, or 0 for full attention. */
  readonly windows: number[];
  constructor(readonly numLayers: number, readonly batch: number, readonly maxLen: number,
    readonly kvHeads: number, readonly headDim: number, windows?: readonly (number | null)[]) {
    this.windows = Array.from({ length: numLayers }, (_, l) => windows?.[l] ?? 0);
    this.capacity = this.windows.map((w) => (w > 0 ? Math.min(w, maxLen) : maxLen));
    this.k = this.capacity.map((c) => new Float32Array(batch * c * kvHeads * headDim));
    this.v = this.capacity.map((c) => new Float32Array(batch * c * kvHeads * headDim));
  }

  /** Called by the model after all layers have appended `tokens` positions. */
  advance(tokens: number): void {
    this.length += tokens;
  }
}

/**
 * Appends this step's k, v ([B, Tn, KVH, D]) to the cache of `layer` and attends q ([B, Tn, H, D])
 * causally over the cached positions (the layer's window of them). Runs under noGrad (generation only).
 */
export function attendWithCache(cache: KVCache, layer: number, q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  const [B, Tn, H, D] = q.shape;
  const KVH = k.shape[2];
  const past = cache.length;
  if (B !== cache.batch || KVH !== cache.kvHeads || D !== cache.headDim) {
    throw new ShapeError('attendWithCache', `q [${q.shape}] / k [${k.shape}] do not fit the cache (batch ${cache.batch}, ${cache.kvHeads} kv heads, head dim ${cache.headDim})`);
  }
  if (past + Tn > cache.maxLen) throw new RangeError(`kv cache: ${past + Tn} positions exceed its ${cache.maxLen}`);
  const row = KVH * D, cap = cache.capacity[layer], window = cache.windows[layer];
  const ck = cache.k[layer], cv = cache.v[layer];
  // In a window-sized ring, keys the chunk's first queries need would be overwritten by its last ones.
  if (past > 0 && window > 0 && window + Tn - 1 > cap && past + Tn > cap) {
    throw new RangeError(`kv cache: layer ${layer} (window ${window}) cannot take ${Tn} tokens at once after ${past}; feed them one at a time`);
  }
  for (let b = 0; b < B; b++) {
    for (let t = Math.max(0, Tn - cap); t < Tn; t++) { // older tokens of a long prefill fall out of the ring
      const src = (b * Tn + t) * row, dst = (b * cap + ((past + t) % cap)) * row;
      ck.set(k.data.subarray(src, src + row), dst);
      cv.set(v.data.subarray(src, src + row), dst);
    }
  }
  // An empty cache is plain causal attention over this step's tokens: the fused kernel.
  if (past === 0) return attention(q, k, v, { causal: true, scale, window });

  const out = Tensor.empty(q.shape);
  backend().attentionDecode(out.data, q.data, ck, cv, B, Tn, past, cap, H, KVH, D, scale, window);
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
