// Opening a model for any command: the weights (plus a LoRA adapter), the tokenizer, the chat
// template, the EOS ids and the task-encoding rules, each decided here once, so generate, eval,
// train, start and serve stop on the same tokens and render the same template for the same folder.
import { loadModel, type LoadedModel } from '../models/load.js';
import { loadTokenizerDir, resolveTokenizer, type LoadedTokenizer } from '../tokenizers/load.js';
import { ChatTemplate } from '../tokenizers/chat_template.js';
import { loadAdapter } from '../lora/index.js';
import { UsageError } from '../util/errors.js';
import type { TaskOptions } from '../data/task.js';

export interface OpenedModel extends LoadedModel {
  tok: LoadedTokenizer | null;
  /** Ids that end generation: generation_config.json's eos_token_id, else config.json's, else the tokenizer's EOS. */
  eosIds: number[];
  /** The model's chat template; undefined when it has none (task data then renders ChatML). */
  chatTemplate: ChatTemplate | undefined;
}

export interface OpenModelOptions {
  /** A LoRA adapter directory (PEFT format) applied on load. */
  adapter?: string;
  /** A built-in tokenizer name or a directory, instead of the model directory's. */
  tokenizer?: string;
}

export function openModel(dir: string, opts: OpenModelOptions = {}): OpenedModel {
  const loaded = loadModel(dir);
  if (opts.adapter) loadAdapter(loaded.model, opts.adapter);
  const tok = opts.tokenizer ? resolveTokenizer(opts.tokenizer) : loadTokenizerDir(dir);
  return { ...loaded, tok, eosIds: eosIdsOf(loaded, tok), chatTemplate: tok?.chatTemplate ? new ChatTemplate(tok.chatTemplate) : undefined };
}

/** The tokenizer, or an error saying what to pass when the model folder has none. */
export function requireTokenizer(m: { tok: LoadedTokenizer | null; dir: string }, why = 'text'): LoadedTokenizer {
  if (!m.tok) throw new UsageError(`${m.dir} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt): ${why} needs one (give --tokenizer)`);
  return m.tok;
}

export function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** generation_config.json's eos_token_id (an int or a list), else config.json's, else the tokenizer's EOS. */
export function eosIdsOf(loaded: Pick<LoadedModel, 'generationConfig' | 'config'>, tok: LoadedTokenizer | null): number[] {
  let ids = idList(loaded.generationConfig?.eos_token_id);
  if (!ids.length) ids = idList(loaded.config.eos_token_id);
  if (!ids.length && tok?.tokenizer.eosId != null) ids = [tok.tokenizer.eosId];
  return ids;
}

/** How task rows are encoded for this tokenizer: its chat template and BOS rule (the same for train, eval and start). */
export function taskEncoding(tok: LoadedTokenizer): Pick<TaskOptions, 'chatTemplate' | 'addBos'> {
  return { chatTemplate: tok.chatTemplate ? new ChatTemplate(tok.chatTemplate) : undefined, addBos: tok.config.add_bos_token === true };
}

/** Parses "1,2,3" (a prompt given as token ids). */
export function parseIds(flag: string, s: string): number[] {
  const parts = s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const ids = parts.map(Number);
  const bad = parts.find((p, i) => !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad !== undefined) throw new UsageError(`${flag}: '${bad}' is not a token id (give non-negative integers separated by commas)`);
  return ids;
}
