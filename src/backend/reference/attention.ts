// Reference scaled dot-product attention (causal, grouped-query, packed-segment and sliding-window masks): the spec
// for native/src/kernels/attention.cc. One query row of scores at a time, never a [T,T] matrix.
import type { F32, I32 } from '../backend.js';

/** Throws unless H is a multiple of KVH (query head h reads kv head floor(h / (H/KVH))). */
export function checkAttentionHeads(heads: number, kvHeads: number): void {
  if (!(kvHeads >= 1) || heads % kvHeads !== 0) {
    throw new Error(`attention: heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  }
}

function checkLength(kernel: string, name: string, a: ArrayLike<number>, need: number): void {
  if (a.length < need) throw new Error(`${kernel}: argument '${name}' has ${a.length} elements, needs at least ${need}`);
}

/** Whether query t may see key s in batch b; window > 0 keeps keys with t - window < s (HF's sliding window). */
function visible(t: number, s: number, b: number, T: number, causal: boolean, segments: I32 | null, window: number): boolean {
  if (causal && s > t) return false;
  if (window > 0 && t - s >= window) return false;
  if (segments !== null && segments[b * T + s] !== segments[b * T + t]) return false;
  return true;
}

export function attentionForward(out: F32, lse: F32, q: F32, k: F32, v: F32, batch: number, seqLen: number,
  heads: number, kvHeads: number, headDim: number, scale: number, causal: boolean, segments: I32 | null, window: number): void {
  const B = batch, T = seqLen, H = heads, KVH = kvHeads, D = headDim;
  checkAttentionHeads(H, KVH);
  const name = 'attentionForward';
  checkLength(name, 'out', out, B * T * H * D);
  checkLength(name, 'lse', lse, B * H * T);
  checkLength(name, 'q', q, B * T * H * D);
  checkLength(name, 'k', k, B * T * KVH * D);
  checkLength(name, 'v', v, B * T * KVH * D);
  if (segments !== null) checkLength(name, 'segments', segments, B * T);
  const group = H / KVH;
  const scores = new Float64Array(T); // (T,) one query's scaled scores
  const acc = new Float64Array(D);    // (D,) one query's output before normalisation
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D; // q[b,t,h,:]
        // pass 1: scores and their max over the visible keys
        let max = -Infinity;
        for (let s = 0; s < T; s++) {
          if (!visible(t, s, b, T, causal, segments, window)) continue;
          const ko = ((b * T + s) * KVH + kh) * D; // k[b,s,kh,:]
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          scores[s] = dot * scale;
          if (scores[s] > max) max = scores[s];
        }
        // pass 2: softmax numerators and the weighted sum of values
        acc.fill(0);
        let sum = 0;
        for (let s = 0; s < T; s++) {
          if (!visible(t, s, b, T, causal, segments, window)) continue;
          const p = Math.exp(scores[s] - max);
          sum += p;
          const vo = ((b * T + s) * KVH + kh) * D;
          for (let d = 0; d < D; d++) acc[d] += p * v[vo + d];
        }
        // a query that sees no key outputs zeros (sum == 0), with lse = -Infinity; NaN stays NaN
        for (let d = 0; d < D; d++) out[qo + d] = sum === 0 ? 0 : acc[d] / sum;
        lse[(b * H + h) * T + t] = sum === 0 ? -Infinity : max + Math.log(sum);
      }
    }
  }
}

// With P = softmax(S), S = scale * q k^T: dv_s += P_ts dout_t; dP_ts = dout_t . v_s;
// dS_ts = P_ts (dP_ts - D_t) where D_t = sum_s P_ts dP_ts = dout_t . out_t; dq_t += scale dS_ts k_s,
// dk_s += scale dS_ts q_t. P is recomputed from the saved lse.
export function attentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
  batch: number, seqLen: number, heads: number, kvHeads: number, headDim: number, scale: number,
  causal: boolean, segments: I32 | null, window: number): void {
  const B = batch, T = seqLen, H = heads, KVH = kvHeads, D = headDim;
  checkAttentionHeads(H, KVH);
  const name = 'attentionBackward';
  for (const [n, a] of [['dq', dq], ['dout', dout], ['q', q], ['out', out]] as const) checkLength(name, n, a, B * T * H * D);
  for (const [n, a] of [['dk', dk], ['dv', dv], ['k', k], ['v', v]] as const) checkLength(name, n, a, B * T * KVH * D);
  checkLength(name, 'lse', lse, B * H * T);
  if (segments !== null) checkLength(name, 'segments', segments, B * T);
  const group = H / KVH;
  const dqRow = new Float64Array(D); // (D,) one query's gradient, added to dq once
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D;
        const m = lse[(b * H + h) * T + t];
        let Dt = 0;
        for (let d = 0; d < D; d++) Dt += dout[qo + d] * out[qo + d];
        dqRow.fill(0);
        for (let s = 0; s < T; s++) {
          if (!visible(t, s, b, T, causal, segments, window)) continue;
          const ko = ((b * T + s) * KVH + kh) * D; // k, v, dk, dv [b,s,kh,:]
          let dot = 0, dp = 0;
          for (let d = 0; d < D; d++) { dot += q[qo + d] * k[ko + d]; dp += dout[qo + d] * v[ko + d]; }
          const p = Math.exp(dot * scale - m);
          const ds = p * (dp - Dt) * scale;
          for (let d = 0; d < D; d++) {
            dqRow[d] += ds * k[ko + d];
            dk[ko + d] += ds * q[qo + d];
            dv[ko + d] += p * dout[qo + d];
          }
        }
        for (let d = 0; d < D; d++) dq[qo + d] += dqRow[d];
      }
    }
  }
}
