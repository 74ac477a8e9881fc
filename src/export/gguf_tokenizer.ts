// A byte-level BPE tokenizer as llama.cpp reads it from GGUF (tokenizer.ggml.*): tokens by id with
// their types, merges, special ids, the BOS policy, the chat template, and the pre-tokenizer's name,
// which llama.cpp knows by name rather than by regex (convert_hf_to_gguf.py finds it by a hash).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GgufValue } from '../formats/gguf.js';
import { BpeTokenizer } from '../tokenizers/bpe_tokenizer.js';
import type { LoadedTokenizer } from '../tokenizers/load.js';
import { readTokenizerJson, type PreTokenizerJson } from '../tokenizers/tokenizer_json.js';

/** llama_token_type, as llama.cpp numbers it. */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

// The Split regexes of Llama 3 and Qwen2 tokenizer.json files (they differ in \p{N}{1,3} vs \p{N}).
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * The tokenizer.ggml.pre name for a tokenizer.json pre_tokenizer: 'gpt-2' (ByteLevel with its regex),
 * 'llama-bpe' (Llama 3's Split), 'qwen2', 'smollm' (single digits, then GPT-2's regex).
 */
export function preTokenizerName(pre: PreTokenizerJson | null, file = 'tokenizer.json'): string {
  const steps = pre === null ? [] : pre.type === 'Sequence' ? pre.pretokenizers : [pre];
  const isByteLevel = (s: PreTokenizerJson | undefined, regex: boolean) =>
    s?.type === 'ByteLevel' && (s.use_regex ?? true) === regex && !s.add_prefix_space;
  if (steps.length === 1 && isByteLevel(steps[0], true)) return 'gpt-2';
  if (steps.length === 2 && steps[0].type === 'Digits' && steps[0].individual_digits && isByteLevel(steps[1], true)) return 'smollm';
  if (steps.length === 2 && steps[0].type === 'Split' && 'Regex' in steps[0].pattern && isByteLevel(steps[1], false)) {
    const re = steps[0].pattern.Regex;
    if (re === LLAMA3_REGEX) return 'llama-bpe';
    if (re === QWEN2_REGEX) return 'qwen2';
  }
  throw new Error(`${file}: pre_tokenizer ${JSON.stringify(pre)} has no llama.cpp name (known: GPT-2's ByteLevel, Llama 3's and Qwen2's Split + ByteLevel, SmolLM's Digits + ByteLevel)`);
}

export interface TokenizerMetadataOptions {
  /** The model's vocab_size: the token list is padded to it (llama.cpp wants one token per embedding row). */
  vocabSize: number;
  /** The model directory the tokenizer came from (its tokenizer.json names the pre-tokenizer). */
  dir: string;
  /** EOS ids from generation_config.json (the first is llama.cpp's eos; the others end turns too). */
  eosIds: number[];
}

/** tokenizer.ggml.* and tokenizer.chat_template metadata. */
export function tokenizerMetadata(loaded: LoadedTokenizer, opts: TokenizerMetadataOptions): Array<[string, GgufValue]> {
  const tok = loaded.tokenizer;
  if (!(tok instanceof BpeTokenizer)) throw new Error(`${opts.dir}: only byte-level BPE tokenizers export to GGUF`);
  const jsonPath = join(opts.dir, 'tokenizer.json');
  const pre = existsSync(jsonPath) ? preTokenizerName(readTokenizerJson(jsonPath).pre_tokenizer, jsonPath) : 'gpt-2';
  if (tok.vocabSize > opts.vocabSize) {
    throw new Error(`${opts.dir}: the tokenizer has ${tok.vocabSize} tokens, more than the model's vocab_size ${opts.vocabSize}`);
  }
  const tokens: string[] = [];
  const types: number[] = [];
  const added = new Map(tok.addedTokens.map((t) => [t.id, t]));
  for (let id = 0; id < opts.vocabSize; id++) {
    const a = added.get(id);
    const text = tok.idToToken(id);
    if (text === undefined) { tokens.push(`[PAD${id}]`); types.push(TOKEN_TYPE.unused); continue; }
    tokens.push(text);
    types.push(a ? (a.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined) : TOKEN_TYPE.normal);
  }
  const meta: Array<[string, GgufValue]> = [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: pre }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', value: types }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: tok.model.merges.map(([a, b]) => `${a} ${b}`) }],
  ];
  const eos = opts.eosIds[0] ?? tok.eosId;
  if (tok.bosId !== null) meta.push(['tokenizer.ggml.bos_token_id', { type: 'u32', value: tok.bosId }]);
  if (eos !== null) meta.push(['tokenizer.ggml.eos_token_id', { type: 'u32', value: eos }]);
  if (tok.padId !== null) meta.push(['tokenizer.ggml.padding_token_id', { type: 'u32', value: tok.padId }]);
  const addBos = tok.bosId !== null && tok.template.prefix.includes(tok.bosId);
  const addEos = tok.eosId !== null && tok.template.suffix.includes(tok.eosId);
  meta.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: addBos }]);
  meta.push(['tokenizer.ggml.add_eos_token', { type: 'bool', value: addEos }]);
  if (loaded.chatTemplate !== null) meta.push(['tokenizer.chat_template', { type: 'string', value: loaded.chatTemplate }]);
  return meta;
}
