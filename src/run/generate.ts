// `gptune generate`: a continuation of a prompt, with generation_config.json's sampling defaults
// applied where the user sets none (as transformers' generate() does; the user's options win).
import { opt, type OptionValues } from './option.js';
import { baseQuantOption, openModel, parseIds, requireTokenizer } from './model.js';
import { generate, DEFAULT_MAX_NEW_TOKENS, type GenerateResult } from '../generate/generate.js';
import { UsageError } from '../util/errors.js';
import { encodePrompt } from '../tokenizers/bos.js';
import type { ResolvedSampling } from '../models/generation_defaults.js';

export const GENERATE_OPTIONS = {
  model: opt.string({ arg: 'dir', required: true, help: 'Hugging Face model directory (config.json + model.safetensors)' }),
  adapter: opt.string({ arg: 'dir', help: 'a LoRA adapter (PEFT format) to apply' }),
  tokenizer: opt.string({ arg: 'name|dir', help: 'tokenizer to use instead of the model directory\'s (built in: gpt2)' }),
  baseQuant: baseQuantOption(),
  prompt: opt.string({ arg: 'text', help: 'the prompt text' }),
  promptIds: opt.string({ arg: 'ids', help: 'the prompt as token ids, e.g. 1,2,3 (needs no tokenizer)' }),
  maxNewTokens: opt.int({ min: 1, defaultRule: `generation_config.json's max_new_tokens, else ${DEFAULT_MAX_NEW_TOKENS}`, help: 'tokens to generate' }),
  temperature: opt.number({ min: 0, defaultRule: 'generation_config.json\'s when it samples, else 0', help: 'sampling temperature; 0 is greedy' }),
  topK: opt.int({ min: 0, defaultRule: 'generation_config.json\'s when it samples (else 50), or off', help: 'keep the k most likely tokens (0: off)' }),
  topP: opt.number({ min: 0, minExclusive: true, max: 1, defaultRule: 'generation_config.json\'s when it samples, else 1', help: 'nucleus sampling: keep the most likely tokens up to probability p (1: off)' }),
  repetitionPenalty: opt.number({ min: 0, defaultRule: 'generation_config.json\'s, else 1', help: 'penalise tokens already in the sequence (1: off)' }),
  seed: opt.int({ min: 0, default: 0, help: 'sampling seed' }),
  stop: opt.list({ arg: 'string', variadic: true, help: 'stop when the text reaches one of these strings' }),
  json: opt.bool({ default: false, help: 'print {"ids": [...], "text": ...} instead of streaming text' }),
};
export type GenerateRunOptions = OptionValues<typeof GENERATE_OPTIONS>;

/** Generates; streams each piece of text to onText when given. */
export function runGenerate(o: GenerateRunOptions, onText?: (delta: string) => void): GenerateResult & { hasTokenizer: boolean; sampling: ResolvedSampling; maxPositions: number } {
  if ((o.prompt === undefined) === (o.promptIds === undefined)) throw new UsageError('give exactly one of --prompt and --prompt-ids');
  const m = openModel(o.model, { adapter: o.adapter, tokenizer: o.tokenizer, keepStoredDtype: true, baseQuant: o.baseQuant });
  let prompt: number[];
  if (o.promptIds !== undefined) prompt = parseIds('--prompt-ids', o.promptIds);
  else {
    if (o.prompt === '') throw new UsageError('the prompt is empty');
    prompt = encodePrompt(requireTokenizer(m, '--prompt').tokenizer, o.prompt!);
  }
  if (prompt.length === 0) throw new UsageError('the prompt is empty');
  const sampling = m.sampling({ maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, repetitionPenalty: o.repetitionPenalty });
  const decode = m.tok ? (ids: readonly number[]) => m.tok!.tokenizer.decode(ids) : undefined;
  const result = generate(m.model, prompt, {
    ...sampling.values,
    seed: o.seed,
    eosIds: m.eosIds,
    stopStrings: o.stop ?? [],
    decode,
    onToken: onText && decode ? (_id, delta) => { if (delta) onText(delta); } : undefined,
  });
  return { ...result, hasTokenizer: decode !== undefined, sampling, maxPositions: m.model.maxPositions };
}
