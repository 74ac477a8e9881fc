// Opening a model for any command: the weights (plus a LoRA adapter), the tokenizer, the chat
// template, the EOS ids and the task-encoding rules, each decided here once, so generate, eval,
// train, start and serve stop on the same tokens and render the same template for the same folder.
import { openModelDir, type ModelDir, type OpenModelOptions } from '../models/model_dir.js';
import type { LoadedTokenizer } from '../tokenizers/load.js';
import { ChatTemplate } from '../tokenizers/chat_template.js';
import { UsageError } from '../util/errors.js';
import type { TaskOptions } from '../data/task.js';
import { BASE_QUANTS } from '../models/load.js';
import { opt } from './option.js';

export type { OpenModelOptions };

export interface OpenedModel extends Omit<ModelDir, 'chatTemplate'> {
  /** The model's chat template, compiled; undefined when it has none (task data then renders ChatML). */
  chatTemplate: ChatTemplate | undefined;
}

/** --base-quant, one declaration for every command that opens a model (train, generate, eval, serve, chat). */
export const baseQuantOption = () => opt.choice(BASE_QUANTS, {
  help: 'quantize the frozen linear weights at load: int8 (ggml Q8_0) or q4 (ggml Q4_0), blocks of 32 with an f16 scale, or nf4 (QLoRA\'s NormalFloat4 with double quantization, as bitsandbytes); LoRA trains on top, as QLoRA',
});

/** models/model_dir.ts reads the folder; here the EOS ids fall back to the tokenizer's EOS and the template is compiled. */
export function openModel(dir: string, opts: OpenModelOptions = {}): OpenedModel {
  const m = openModelDir(dir, opts);
  return { ...m, eosIds: withTokenizerEos(m.eosIds, m.tok), chatTemplate: m.chatTemplate ? new ChatTemplate(m.chatTemplate) : undefined };
}

/** The EOS ids the model folder gives, else the tokenizer's EOS (a folder with neither stops only at the length). */
export function withTokenizerEos(ids: readonly number[], tok: LoadedTokenizer | null): number[] {
  if (ids.length) return [...ids];
  return tok?.tokenizer.eosId != null ? [tok.tokenizer.eosId] : [];
}

/** The tokenizer, or an error saying what to pass when the model folder has none. */
export function requireTokenizer(m: { tok: LoadedTokenizer | null; dir: string }, why = 'text'): LoadedTokenizer {
  if (!m.tok) throw new UsageError(`${m.dir} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt): ${why} needs one (give --tokenizer)`);
  return m.tok;
}

/**
 * How task rows are encoded for this tokenizer: its chat template (the same for train, eval, start and
 * data inspect). BOS needs no option: TaskEncoder applies the tokenizer's own rule (tokenizers/bos.ts).
 */
export function taskEncoding(tok: LoadedTokenizer): Pick<TaskOptions, 'chatTemplate'> {
  return { chatTemplate: tok.chatTemplate ? new ChatTemplate(tok.chatTemplate) : undefined };
}

/** Parses "1,2,3" (a prompt given as token ids). */
export function parseIds(flag: string, s: string): number[] {
  const parts = s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const ids = parts.map(Number);
  const bad = parts.find((p, i) => !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad !== undefined) throw new UsageError(`${flag}: '${bad}' is not a token id (give non-negative integers separated by commas)`);
  return ids;
}
