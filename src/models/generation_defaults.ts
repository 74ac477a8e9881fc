// Sampling settings for generate / chat / serve: the user's options win, then generation_config.json
// (as transformers' generate() and vLLM apply it), then gptune's defaults. Each value says where it came from.
import type { GenerationConfig } from '../formats/hf_config.js';
import { DEFAULT_MAX_NEW_TOKENS } from '../generate/generate.js';

export interface SamplingChoice {
  maxNewTokens?: number;
  /** 0 is greedy. */
  temperature?: number;
  /** 0 is off. */
  topK?: number;
  /** 1 is off. */
  topP?: number;
  repetitionPenalty?: number;
}

export type SettingSource = 'user' | 'generation_config.json' | 'default';

export interface ResolvedSampling {
  values: Required<SamplingChoice>;
  from: Record<keyof SamplingChoice, SettingSource>;
}

/** gptune's values when neither the user nor generation_config.json says (greedy, as transformers with do_sample unset). */
export const SAMPLING_DEFAULTS: Readonly<Required<SamplingChoice>> = Object.freeze({
  maxNewTokens: DEFAULT_MAX_NEW_TOKENS, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1,
});

// transformers' GenerationConfig defaults, which apply once generation_config.json sets do_sample: true.
const HF_SAMPLING = { temperature: 1, topK: 50, topP: 1 };

/**
 * The sampling settings to use. With `do_sample: true` in generation_config.json its temperature /
 * top_k / top_p apply (transformers' defaults 1 / 50 / 1.0 for those it omits); without it, decoding is
 * greedy and those fields are ignored, as transformers does. repetition_penalty and max_new_tokens apply
 * either way. A value the user gives always wins.
 */
export function generationDefaults(gen: GenerationConfig | null, user: SamplingChoice = {}): ResolvedSampling {
  const sampling = gen?.doSample === true;
  const fromFile: SamplingChoice = {
    maxNewTokens: gen?.maxNewTokens,
    repetitionPenalty: gen?.repetitionPenalty,
    ...(sampling ? { temperature: gen!.temperature ?? HF_SAMPLING.temperature, topK: gen!.topK ?? HF_SAMPLING.topK, topP: gen!.topP ?? HF_SAMPLING.topP } : {}),
  };
  const values = {} as Required<SamplingChoice>;
  const from = {} as Record<keyof SamplingChoice, SettingSource>;
  for (const key of Object.keys(SAMPLING_DEFAULTS) as (keyof SamplingChoice)[]) {
    if (user[key] !== undefined) { values[key] = user[key]!; from[key] = 'user'; }
    else if (fromFile[key] !== undefined) { values[key] = fromFile[key]!; from[key] = 'generation_config.json'; }
    else { values[key] = SAMPLING_DEFAULTS[key]; from[key] = 'default'; }
  }
  return { values, from };
}
