// Reference fused log-softmax + negative log-likelihood over the vocabulary (the LM loss).
// No [rows, vocab] temporary: the forward saves only lse, and the backward recomputes softmax from it.
import type { F32, I32 } from '../backend.js';

import { IGNORE_INDEX } from '../backend.js';

function checkTarget(kernel: string, targets: I32, r: number, vocab: number): number {
  const t = targets[r];
  if (t !== IGNORE_INDEX && !(t >= 0 && t < vocab)) {
    throw new Error(`${kernel}: targets[${r}] = ${t} is outside [0, ${vocab}) and is not ${IGNORE_INDEX} (ignore)`);
  }
  return t;
}

/** losses[r] = lse[r] - logits[r, t] (0 when t is -100), lse[r] = logsumexp(logits[r]). */
export function crossEntropyForward(losses: F32, lse: F32, logits: F32, targets: I32, rows: number, vocab: number): void {
  // losses, lse, targets: [rows]; logits: [rows, vocab]
  for (let r = 0; r < rows; r++) {
    const t = checkTarget('crossEntropyForward', targets, r, vocab);
    const o = r * vocab;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[o + v]);
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[o + v] - max);
    const l = max + Math.log(sum);
    lse[r] = l;
    losses[r] = t === IGNORE_INDEX ? 0 : l - logits[o + t];
  }
}

/** dlogits[r, v] += dlosses[r] * (exp(logits[r, v] - lse[r]) - (v == t)); rows with t = -100 add nothing. */
export function crossEntropyBackward(dlogits: F32, dlosses: F32, logits: F32, lse: F32, targets: I32,
  rows: number, vocab: number): void {
  for (let r = 0; r < rows; r++) {
    const t = checkTarget('crossEntropyBackward', targets, r, vocab);
    if (t === IGNORE_INDEX) continue;
    const o = r * vocab;
    const d = dlosses[r], l = lse[r];
    for (let v = 0; v < vocab; v++) {
      dlogits[o + v] += d * (Math.exp(logits[o + v] - l) - (v === t ? 1 : 0));
    }
  }
}
