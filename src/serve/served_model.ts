// What a server or a chat session holds: one base model, its tokenizer, chat template and stop
// tokens, and the adapters loaded over it. The model directory is read here and only here.
import type { BaseQuant } from '../models/load.js';
import { basename, resolve } from 'node:path';
import { openModel } from '../run/model.js';
import type { CausalLM } from '../models/causal_lm.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { ChatTemplate, type ChatMessage } from '../tokenizers/chat_template.js';
import { DEFAULT_END_OF_TURN, endOfTurnIds } from '../data/task.js';
import { AdapterSet, type AdapterSource } from '../lora/multi_lora.js';
import { GptuneError } from '../util/errors.js';
import { encodePrompt } from '../tokenizers/bos.js';

export interface ServedModel {
  /** The base model's name in the API (the directory's name unless given). */
  name: string;
  model: CausalLM;
  tokenizer: Tokenizer | null;
  template: ChatTemplate;
  adapters: AdapterSet;
  /** Ids that end any generation (generation_config.json / config.json). */
  eosIds: number[];
  /** Ids and strings that end an assistant turn in chat (the template's end-of-turn marker). */
  chatStopIds: number[];
  chatStopStrings: string[];
  bosToken: string;
  eosToken: string;
}

export interface LoadServedOptions {
  modelDir: string;
  /** Quantize the base's linear weights at load (--base-quant). */
  baseQuant?: BaseQuant;
  adapters?: readonly AdapterSource[];
  name?: string;
}

export function loadServedModel(opts: LoadServedOptions): ServedModel {
  const setup = openModel(opts.modelDir, { keepStoredDtype: true, baseQuant: opts.baseQuant });
  const tok = setup.tok;
  const template = setup.chatTemplate ?? ChatTemplate.chatml();
  const adapters = AdapterSet.load(setup.model, opts.adapters ?? []);
  const name = opts.name ?? basename(resolve(opts.modelDir));
  if (adapters.names.includes(name)) throw new GptuneError(`adapter name '${name}' is the base model's name; pick another`);
  const tokenizer = tok?.tokenizer ?? null;
  // End-of-turn markers the template writes: a single token stops by id, a longer one by text.
  const markers = DEFAULT_END_OF_TURN.filter((m) => template.source.includes(m));
  const markerIds = tokenizer ? [...endOfTurnIds(tokenizer, markers)] : [];
  const stopStrings = tokenizer ? markers.filter((m) => tokenizer.encode(m, { addSpecialTokens: false }).length > 1) : [];
  return {
    name, model: setup.model, tokenizer, template, adapters, eosIds: setup.eosIds,
    chatStopIds: [...new Set([...setup.eosIds, ...markerIds])], chatStopStrings: stopStrings,
    bosToken: setup.bosText ?? '', eosToken: setup.eosText ?? '',
  };
}

/** The chat prompt's ids: the conversation through the template, opening the assistant's turn. */
export function encodeChat(m: ServedModel, messages: readonly ChatMessage[]): number[] {
  if (!m.tokenizer) throw new GptuneError(`the model '${m.name}' has no tokenizer files; chat needs one`);
  const text = m.template.render(messages, { addGenerationPrompt: true, bosToken: m.bosToken, eosToken: m.eosToken });
  return encodePrompt(m.tokenizer, text);
}
