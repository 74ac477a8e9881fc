// One reader of a Hugging Face model directory for every command: the model (plus an optional LoRA
// adapter), its stored dtype, tokenizer, chat template, EOS ids, BOS/EOS text and generation settings,
// all read through the typed readers of formats/hf_config.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type BaseQuant, type LoadedModel } from './load.js';
import { loadTokenizerDir, resolveTokenizer, specialTokenOptions, type LoadedTokenizer } from '../tokenizers/load.js';
import { loadAdapter } from '../lora/adapter.js';
import { ModelConfig } from '../formats/hf_config.js';
import { generationDefaults, type ResolvedSampling, type SamplingChoice } from './generation_defaults.js';

export interface OpenModelOptions {
  /** A PEFT adapter directory loaded onto the model (frozen). */
  adapter?: string;
  /** --tokenizer NAME|DIR instead of the model directory's own tokenizer files. */
  tokenizer?: string;
  /** Keep bf16/f16 linear weights in their stored dtype (frozen: inference and LoRA; see loadModel). */
  keepStoredDtype?: boolean;
  /** Quantize the frozen linear weights to ggml Q8_0 (int8) or Q4_0 (q4) blocks (see loadModel). */
  baseQuant?: BaseQuant;
}

export interface ModelDir extends LoadedModel {
  tok: LoadedTokenizer | null;
  /** The chat template to render (null when the model has none). */
  chatTemplate: string | null;
  /** generation_config.json's eos_token_id (an int or a list), else config.json's; [] when neither says. */
  eosIds: number[];
  /** The BOS / EOS tokens as text (tokenizer_config.json's, else the tokenizer's token for the id). */
  bosText: string | null;
  eosText: string | null;
  /** Sampling settings: the user's, else generation_config.json's, else gptune's defaults. */
  sampling(user?: SamplingChoice): ResolvedSampling;
}

export function openModelDir(dir: string, opts: OpenModelOptions = {}): ModelDir {
  const loaded = loadModel(dir, { keepStoredDtype: opts.keepStoredDtype, baseQuant: opts.baseQuant });
  if (opts.adapter) loadAdapter(loaded.model, opts.adapter);
  const tok = opts.tokenizer ? resolveTokenizer(opts.tokenizer) : loadTokenizerDir(dir);
  const cfg = new ModelConfig(loaded.config, `${dir}/config.json`);
  const eosIds = loaded.generation?.eosTokenIds.length ? loaded.generation.eosTokenIds : cfg.eosTokenIds;
  const bosId = loaded.generation?.bosTokenId ?? cfg.bosTokenId;
  const special = tok ? specialTokenOptions(tok.config) : {};
  const tokenText = (configured: string | null | undefined, id: number | null | undefined) =>
    configured ?? (id != null && tok ? tok.tokenizer.idToToken(id) ?? null : null);
  return {
    ...loaded,
    tok,
    // An adapter trained on chat data saves the template it rendered (see run/train.ts): it wins.
    chatTemplate: (opts.adapter ? adapterChatTemplate(opts.adapter) : null) ?? tok?.chatTemplate ?? null,
    eosIds,
    bosText: tokenText(special.bosToken, bosId),
    eosText: tokenText(special.eosToken, eosIds[0]),
    sampling: (user = {}) => generationDefaults(loaded.generation, user),
  };
}

/** chat_template.jinja in an adapter's folder, or null. */
export function adapterChatTemplate(dir: string): string | null {
  const file = join(dir, 'chat_template.jinja');
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}
