// Reference attention against a KV cache (generation): one row of scores per query, in float64.
// The cache is a ring of maxLen slots (position p in slot p % maxLen), so a sliding-window layer
// needs only a window-sized cache.
import type { F32 } from '../backend.js';

export function attentionDecode(out: F32, q: F32, kCache: F32, vCache: F32, batch: number, qLen: number, past: number,
  maxLen: number, heads: number, kvHeads: number, headDim: number, scale: number, window: number): void {
  const D = headDim, group = heads / kvHeads;
  checkDecodeRing(past, qLen, maxLen, window);
  const scores = new Float64Array(past + qLen);
  const acc = new Float64Array(D);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < qLen; i++) {
      const pos = past + i; // query i sits at position past + i
      const first = window > 0 ? Math.max(0, pos - window + 1) : 0;
      for (let h = 0; h < heads; h++) {
        const kh = Math.floor(h / group);
        const qo = ((b * qLen + i) * heads + h) * D;
        let max = -Infinity;
        for (let s = first; s <= pos; s++) {
          const ko = ((b * maxLen + (s % maxLen)) * kvHeads + kh) * D; // (B, maxLen, KVH, D)
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * kCache[ko + d];
          scores[s] = dot * scale;
          if (scores[s] > max) max = scores[s];
        }
        let sum = 0;
        for (let s = first; s <= pos; s++) sum += (scores[s] = Math.exp(scores[s] - max));
        acc.fill(0);
        for (let s = first; s <= pos; s++) {
          const w = scores[s] / sum, vo = ((b * maxLen + (s % maxLen)) * kvHeads + kh) * D;
          for (let d = 0; d < D; d++) acc[d] += w * vCache[vo + d];
        }
        for (let d = 0; d < D; d++) out[qo + d] = acc[d];
      }
    }
  }
}

/** The ring must still hold every key the chunk's first query sees after the chunk is written. */
export function checkDecodeRing(past: number, qLen: number, maxLen: number, window: number): void {
  const need = window > 0 ? Math.min(past + qLen, window + qLen - 1) : past + qLen;
  if (need > maxLen) {
    throw new RangeError(`attentionDecode: ${qLen} queries after ${past} cached positions need ${need} cache slots, the cache has ${maxLen}`);
  }
}
