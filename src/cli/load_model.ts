// Loading what the inference commands need: the model (plus an optional LoRA adapter), its
// tokenizer if the directory has one, and generation defaults from generation_config.json.
import { loadModel, type LoadedModel } from '../models/load.js';
import { loadTokenizerDir, resolveTokenizer, type LoadedTokenizer } from '../tokenizers/load.js';
import { loadAdapter } from '../lora/index.js';

export interface InferenceSetup extends LoadedModel {
  tok: LoadedTokenizer | null;
  /** EOS ids: generation_config.json's eos_token_id (an int or a list), else config.json's. */
  eosIds: number[];
}

export function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

export function loadForInference(modelDir: string, adapterDir?: string, tokenizerSpec?: string): InferenceSetup {
  const loaded = loadModel(modelDir);
  if (adapterDir) loadAdapter(loaded.model, adapterDir);
  const tok = tokenizerSpec ? resolveTokenizer(tokenizerSpec) : loadTokenizerDir(modelDir);
  const gen = loaded.generationConfig ?? {};
  let eosIds = idList(gen.eos_token_id);
  if (eosIds.length === 0) eosIds = idList(loaded.config.eos_token_id);
  return { ...loaded, tok, eosIds };
}

/** Parses --prompt-ids "1,2,3". */
export function parseIds(flag: string, s: string): number[] {
  const parts = s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const ids = parts.map(Number);
  const bad = parts.find((p, i) => !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad !== undefined) throw new Error(`${flag}: '${bad}' is not a token id (give non-negative integers separated by commas)`);
  return ids;
}
