// Autoregressive generation with a KV cache: prefill the prompt once, then one position per token.
// Stops at max new tokens, on any EOS id, or when the decoded text reaches a stop string.
import { allFinite, nonFiniteError } from '../models/finite.js';
import type { CausalLM } from '../models/causal_lm.js';
import { KVCache } from '../models/kv_cache.js';
import { noGrad } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { linear } from '../tensor/ops/linear.js';
import { makeSampler, type SamplingOptions } from './sampler.js';
import { StopStream, type FinishReason } from './stop_strings.js';

/** New tokens when neither the caller nor generation_config.json says (the CLI's default too). */
export const DEFAULT_MAX_NEW_TOKENS = 50;

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens?: number;
  /** Token ids that end generation (the EOS id is not part of the output). */
  eosIds?: readonly number[];
  /** Strings that end generation; the text is cut before the stop string. Needs `decode`. */
  stopStrings?: readonly string[];
  /** Turns ids into text, for stop strings and streaming. */
  decode?: (ids: readonly number[]) => string;
  /** Called with each new token id and the text added by it (streaming). */
  onToken?: (id: number, textDelta: string) => void;
  /** false recomputes the whole sequence at each step (slow; for tests and debugging). */
  useCache?: boolean;
}

export interface GenerateResult {
  /** Generated ids only (without the prompt and without a final EOS). */
  ids: number[];
  /** Decoded generated text, or null without a decoder. */
  text: string | null;
  stopReason: 'eos' | 'stop_string' | 'max_new_tokens' | 'context_full';
  /** The same as OpenAI-style finish reasons: stop (EOS or stop string), length, context. */
  finishReason: FinishReason;
  /** The logits that chose each token (only when keepLogits is set). */
  stepLogits?: Float32Array[];
}

export function generate(model: CausalLM, prompt: readonly number[], opts: GenerateOptions & { keepLogits?: boolean } = {}): GenerateResult {
  if (prompt.length === 0) throw new RangeError('generate: the prompt is empty (give at least one token)');
  if (prompt.length >= model.maxPositions) {
    throw new RangeError(`generate: the prompt has ${prompt.length} tokens, the model's context is ${model.maxPositions}`);
  }
  for (const id of prompt) {
    if (!Number.isInteger(id) || id < 0 || id >= model.vocabSize) throw new RangeError(`generate: prompt id ${id} is outside the vocabulary (0..${model.vocabSize - 1})`);
  }
  const maxNew = opts.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const eos = new Set(opts.eosIds ?? []);
  const stops = opts.stopStrings ?? [];
  if (stops.length && !opts.decode) throw new Error('generate: stop strings need a tokenizer to decode with');
  const sample = makeSampler(opts);
  const useCache = opts.useCache ?? true;
  const wasTraining = model.training;
  model.eval();

  const seq = [...prompt];
  const ids: number[] = [];
  const stepLogits: Float32Array[] = [];
  const stream = new StopStream(stops);
  let stopReason = 'max_new_tokens' as GenerateResult['stopReason'];
  const limit = Math.min(maxNew, model.maxPositions - prompt.length);
  const { kvHeads, headDim, windows } = model.kvShape;
  const cache = useCache ? new KVCache(model.numLayers, 1, prompt.length + limit, kvHeads, headDim, windows) : undefined;
  try {
    noGrad(() => {
      let pending: number[] = [...prompt];
      for (let step = 0; step < maxNew; step++) {
        if (step >= limit) { stopReason = 'context_full'; break; }
        const input = useCache ? pending : seq;
        const logits = noGrad(() => {
          // Only the last position's logits are sampled from: the lm_head runs on that row alone.
          const hidden = model.hiddenStates(Int32Array.from(input), 1, input.length, { cache });
          const C = hidden.shape[hidden.rank - 1];
          const last = Tensor.from(hidden.data.slice((input.length - 1) * C, input.length * C), [1, C]);
          return linear(last, model.outputWeight, null, 'out_in').data.slice();
        });
        if (!allFinite(logits)) throw nonFiniteError(model, 'logits');
        if (opts.keepLogits) stepLogits.push(logits);
        const id = sample(logits, seq);
        if (eos.has(id)) { stopReason = 'eos'; break; }
        seq.push(id);
        ids.push(id);
        pending = [id];
        if (opts.decode) {
          // A stop string's possible prefix is held back until it cannot become one (never shown).
          opts.onToken?.(id, stream.push(opts.decode(ids)));
          if (stream.stopped) { stopReason = 'stop_string'; break; }
        } else {
          opts.onToken?.(id, '');
        }
      }
    });
  } finally {
    model.train(wasTraining);
  }
  if (opts.decode && stopReason !== 'stop_string') {
    const delta = stream.finish(opts.decode(ids));
    if (delta) opts.onToken?.(-1, delta);
  }
  const finishReason: FinishReason = stopReason === 'max_new_tokens' ? 'length' : stopReason === 'context_full' ? 'context' : 'stop';
  return { ids, text: opts.decode ? stream.text : null, stopReason, finishReason, ...(opts.keepLogits ? { stepLogits } : {}) };
}
