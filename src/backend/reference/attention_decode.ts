// Reference attention against a KV cache (generation): one row of scores per query, in float64.
import type { F32 } from '../backend.js';

export function attentionDecode(out: F32, q: F32, kCache: F32, vCache: F32, batch: number, qLen: number, past: number,
  maxLen: number, heads: number, kvHeads: number, headDim: number, scale: number): void {
  const D = headDim, group = heads / kvHeads;
  const scores = new Float64Array(past + qLen);
  const acc = new Float64Array(D);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < qLen; i++) {
      const seen = past + i + 1; // query i sits at position past + i
      for (let h = 0; h < heads; h++) {
        const kh = Math.floor(h / group);
        const qo = ((b * qLen + i) * heads + h) * D;
        let max = -Infinity;
        for (let s = 0; s < seen; s++) {
          const ko = ((b * maxLen + s) * kvHeads + kh) * D; // (B, maxLen, KVH, D)
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * kCache[ko + d];
          scores[s] = dot * scale;
          if (scores[s] > max) max = scores[s];
        }
        let sum = 0;
        for (let s = 0; s < seen; s++) sum += (scores[s] = Math.exp(scores[s] - max));
        acc.fill(0);
        for (let s = 0; s < seen; s++) {
          const w = scores[s] / sum, vo = ((b * maxLen + s) * kvHeads + kh) * D;
          for (let d = 0; d < D; d++) acc[d] += w * vCache[vo + d];
        }
        for (let d = 0; d < D; d++) out[qo + d] = acc[d];
      }
    }
  }
}
