// What the inference commands need from a model directory: openModelDir (models/model_dir.ts) does it.
import { openModelDir, type ModelDir } from '../models/model_dir.js';

export type InferenceSetup = ModelDir;

export function loadForInference(modelDir: string, adapterDir?: string, tokenizerSpec?: string): InferenceSetup {
  return openModelDir(modelDir, { adapter: adapterDir, tokenizer: tokenizerSpec });
}

/** An id or a list of ids from a JSON value (eos_token_id); [] for anything else. */
export function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** Parses --prompt-ids "1,2,3". */
export function parseIds(flag: string, s: string): number[] {
  const parts = s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const ids = parts.map(Number);
  const bad = parts.find((p, i) => !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad !== undefined) throw new Error(`${flag}: '${bad}' is not a token id (give non-negative integers separated by commas)`);
  return ids;
}
