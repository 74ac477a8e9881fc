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
import { adapterChatTemplate } from '../models/model_dir.js';

/** How chat prompts are rendered and where an assistant turn ends. */
export interface ChatFormat {
  template: ChatTemplate;
  /** Ids and strings that end an assistant turn (EOS and the template's end-of-turn marker). */
  stopIds: number[];
  stopStrings: string[];
}

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
  /** Per adapter (same order as adapters.names): its own format when it saved a chat_template.jinja, else null (the base's). */
  adapterChats: (ChatFormat | null)[];
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
  const base = chatFormatOf(template, tokenizer, setup.eosIds);
  // An adapter trained on chat rows saved the template it was trained with (run/train.ts): its requests use it.
  const adapterChats = (opts.adapters ?? []).map((a) => {
    const source = adapterChatTemplate(a.dir);
    return source === null ? null : chatFormatOf(new ChatTemplate(source, `${a.dir}/chat_template.jinja`), tokenizer, setup.eosIds);
  });
  return {
    name, model: setup.model, tokenizer, template, adapters, eosIds: setup.eosIds,
    chatStopIds: base.stopIds, chatStopStrings: base.stopStrings, adapterChats,
    bosToken: setup.bosText ?? '', eosToken: setup.eosText ?? '',
  };
}

function chatFormatOf(template: ChatTemplate, tokenizer: Tokenizer | null, eosIds: readonly number[]): ChatFormat {
  // End-of-turn markers the template writes: a single token stops by id, a longer one by text.
  const markers = DEFAULT_END_OF_TURN.filter((m) => template.source.includes(m));
  const markerIds = tokenizer ? [...endOfTurnIds(tokenizer, markers)] : [];
  const stopStrings = tokenizer ? markers.filter((m) => tokenizer.encode(m, { addSpecialTokens: false }).length > 1) : [];
  return { template, stopIds: [...new Set([...eosIds, ...markerIds])], stopStrings };
}

/** The chat format a request for `adapter` (-1: the base) uses. */
export function chatFormat(m: ServedModel, adapter = -1): ChatFormat {
  return (adapter >= 0 ? m.adapterChats[adapter] : null) ?? { template: m.template, stopIds: m.chatStopIds, stopStrings: m.chatStopStrings };
}

/** The chat prompt's ids: the conversation through the template (the adapter's own, if it has one), opening the assistant's turn. */
export function encodeChat(m: ServedModel, messages: readonly ChatMessage[], adapter = -1): number[] {
  if (!m.tokenizer) throw new GptuneError(`the model '${m.name}' has no tokenizer files; chat needs one`);
  const text = chatFormat(m, adapter).template.render(messages, { addGenerationPrompt: true, bosToken: m.bosToken, eosToken: m.eosToken });
  return encodePrompt(m.tokenizer, text);
}
