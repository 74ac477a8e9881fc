// Next-token selection with Hugging Face's logits processors, in HF's order: repetition penalty,
// then temperature, top-k and top-p; temperature 0 is greedy (argmax after the penalty).
import { Rng } from '../util/rng.js';

export interface SamplingOptions {
  /** 0 (the default) is greedy decoding. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** CTRL's penalty on every token already in the sequence (1 = off). */
  repetitionPenalty?: number;
  seed?: number;
}

export function checkSampling(o: SamplingOptions): void {
  const bad = (what: string) => { throw new RangeError(`invalid sampling option: ${what}`); };
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature))) bad(`temperature must be >= 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) bad(`top-k must be an integer >= 0, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad(`top-p must be in (0, 1], got ${o.topP}`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty))) bad(`repetition penalty must be > 0, got ${o.repetitionPenalty}`);
}

export type Sampler = (logits: Float32Array, history: readonly number[]) => number;

export function makeSampler(opts: SamplingOptions = {}): Sampler {
  checkSampling(opts);
  const { temperature = 0, topK = 0, topP = 1, repetitionPenalty = 1 } = opts;
  const rng = new Rng(opts.seed ?? 0);
  return (raw, history) => {
    const logits = Float32Array.from(raw);
    if (repetitionPenalty !== 1) {
      for (const id of new Set(history)) {
        const s = logits[id];
        logits[id] = s < 0 ? s * repetitionPenalty : s / repetitionPenalty;
      }
    }
    if (temperature === 0) return argmax(logits);
    for (let i = 0; i < logits.length; i++) logits[i] /= temperature;
    // Candidates by descending logit (only the top k when top-k is set).
    let order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
    if (topK > 0 && topK < order.length) order = order.slice(0, topK);
    const max = logits[order[0]];
    const probs = order.map((i) => Math.exp(logits[i] - max));
    const total = probs.reduce((s, p) => s + p, 0);
    let keep = order.length;
    if (topP < 1) {
      // HF removes the tokens whose cumulative probability (ascending) stays <= 1 - top_p; keep >= 1.
      let cum = 0;
      for (let i = 0; i < order.length; i++) {
        cum += probs[i] / total;
        if (cum >= topP) { keep = i + 1; break; }
      }
    }
    const kept = probs.slice(0, keep);
    const keptTotal = kept.reduce((s, p) => s + p, 0);
    let u = rng.uniform() * keptTotal;
    for (let i = 0; i < keep; i++) {
      u -= kept[i];
      if (u < 0) return order[i];
    }
    return order[keep - 1];
  };
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
