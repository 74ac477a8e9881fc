// tokenizer.json (Hugging Face tokenizers' single-file format), typed as unions switched on `type`.
// BPE is supported, byte-level (GPT-2, Llama 3, Qwen2, DeepSeek style) and SentencePiece-style
// (Llama 2, Mistral, Gemma: Metaspace or ' '->'▁' normalizers, byte_fallback); any other model or
// component is refused by name, e.g. "tokenizer.json: model type 'Unigram' is not supported".
import { readJsonObject } from '../util/json_file.js';
import type { AddedToken } from './added_tokens.js';
import { BpeDataError, BytePairModel } from './bpe.js';
import { BpeTokenizer } from './bpe_tokenizer.js';
import { checkNotDamagedByResave } from './damaged_tokenizer.js';
import { jsonReader, readDecoders, type JsonReader, readNormalizers, readPreTokenizers, type DecoderJson, type NormalizerJson, type PreTokenizerJson } from './pipeline_json.js';
import { describe } from '../util/errors.js';
import { readPostProcessor, singlePrefixSuffix, type PostProcessorJson, type TemplatePiece } from './post_processor.js';

export type { DecoderJson, NormalizerJson, PatternJson, PreTokenizerJson } from './pipeline_json.js';

// ---- the schema (the parts gptune reads; unknown fields are kept when re-saving) ----

export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens?: AddedTokenJson[];
  normalizer: NormalizerJson | null;
  pre_tokenizer: PreTokenizerJson | null;
  post_processor: PostProcessorJson | null;
  decoder: DecoderJson | null;
  model: BpeModelJson;
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

export type { PostProcessorJson, TemplatePieceJson } from './post_processor.js';

export interface BpeModelJson {
  type?: 'BPE';
  dropout?: number | null;
  unk_token?: string | null;
  continuing_subword_prefix?: string | null;
  end_of_word_suffix?: string | null;
  fuse_unk?: boolean;
  byte_fallback?: boolean;
  ignore_merges?: boolean;
  vocab: Record<string, number>;
  /** "a b" strings (tokenizers < 0.20) or [a, b] pairs (newer). */
  merges: (string | [string, string])[];
}

/** Special-token settings that come from tokenizer_config.json (or defaults for a known model). */
export interface SpecialTokenOptions {
  bosToken?: string | null;
  eosToken?: string | null;
  padToken?: string | null;
  /**
   * When either is given, the two decide what addSpecialTokens adds instead of the post-processor (a
   * missing one counts as false), as transformers 5 rebuilds the template from them.
   */
  addBosToken?: boolean;
  addEosToken?: boolean;
}

// ---- loading ----

export function readTokenizerJson(path: string): TokenizerJson {
  return readJsonObject(path) as unknown as TokenizerJson;
}

export function loadTokenizerJson(path: string, special: SpecialTokenOptions = {}): BpeTokenizer {
  return tokenizerFromJson(readTokenizerJson(path), special, path);
}

/** Builds a tokenizer from parsed tokenizer.json; file names the source in errors. */
export function tokenizerFromJson(j: TokenizerJson, special: SpecialTokenOptions = {}, file = 'tokenizer.json'): BpeTokenizer {
  const r = jsonReader(file);
  const fail = r.fail, unsupported = r.unsupported;

  // model
  const m = j.model as BpeModelJson & { type?: string };
  if (!m || typeof m !== 'object') fail('model', `expected an object, got ${describe(m)}`);
  if (m.type !== undefined && m.type !== 'BPE') unsupported('model', m.type);
  if (typeof m.vocab !== 'object' || m.vocab === null || Array.isArray(m.vocab)) fail('model.vocab', `expected an object of token -> id, got ${describe(m.vocab)}`);
  if (!Array.isArray(m.merges)) fail('model.merges', `expected an array, got ${describe(m.merges)}`);
  if (m.dropout != null && m.dropout !== 0) fail('model.dropout', `BPE dropout ${m.dropout} is not supported`);
  if (m.continuing_subword_prefix) fail('model.continuing_subword_prefix', 'subword prefixes (WordPiece-style BPE) are not supported');
  if (m.end_of_word_suffix) fail('model.end_of_word_suffix', 'end-of-word suffixes are not supported');
  const merges = m.merges.map((x, i): [string, string] => {
    if (typeof x === 'string') {
      const parts = x.split(' ');
      if (parts.length !== 2) fail(`model.merges[${i}]`, `expected "left right", got ${JSON.stringify(x)}`);
      return parts as [string, string];
    }
    if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return x;
    return fail(`model.merges[${i}]`, `expected "left right" or [left, right], got ${JSON.stringify(x)}`);
  });
  const normalizers = readNormalizers(r, j.normalizer);
  // pre-tokenizer: byte-level BPE ends with ByteLevel (the model works on the bytes it produces); without
  // one the model works on characters (SentencePiece-style, with byte_fallback for the rest).
  const steps = readPreTokenizers(r, j.pre_tokenizer);
  const bl = steps.findIndex((s) => s.type === 'byteLevel');
  const byteLevel = bl >= 0;
  if (byteLevel && bl !== steps.length - 1) fail('pre_tokenizer', 'ByteLevel must be the last step');
  if (!j.decoder) fail('decoder', byteLevel ? 'is null; byte-level BPE needs a ByteLevel decoder' : 'is null; gptune needs a decoder to turn tokens into text');
  const decoder = readDecoders(r, j.decoder!);
  checkNotDamagedByResave(j, steps, decoder, file);

  // The checks above are cheap; building the merge table is not, so it comes after them.
  let model: BytePairModel;
  try {
    model = new BytePairModel(new Map(Object.entries(m.vocab)), merges, {
      byteLevel, byteFallback: m.byte_fallback ?? false, fuseUnk: m.fuse_unk ?? false, ignoreMerges: m.ignore_merges ?? false, unkToken: m.unk_token ?? null,
    });
  } catch (e) {
    if (e instanceof BpeDataError) return fail(e.mergeIndex !== undefined ? `model.merges[${e.mergeIndex}]` : 'model.vocab', e.message);
    throw e;
  }

  const addedTokens = readAddedTokens(r, j.added_tokens, model.vocab);

  // post-processor -> the ids addSpecialTokens adds (and the pair template, for encoders)
  const idOf = (tok: string, key: string): number => {
    const t = addedTokens.find((a) => a.content === tok);
    const id = t?.id ?? model.vocab.get(tok);
    return id ?? fail(key, `special token '${tok}' is neither an added token nor in the vocab`);
  };
  let postProcessor = readPostProcessor(r, j.post_processor);
  let template = singlePrefixSuffix(postProcessor);

  const tokenId = (tok: string | null | undefined, key: string) => (tok == null ? null : idOf(tok, key));
  let bosId = tokenId(special.bosToken, 'bos_token');
  const eosId = tokenId(special.eosToken, 'eos_token');
  const padId = tokenId(special.padToken, 'pad_token');
  if (special.bosToken === undefined && template.prefix.length === 1) bosId = template.prefix[0];
  if (special.addBosToken !== undefined || special.addEosToken !== undefined) {
    const need = (on: boolean | undefined, id: number | null, what: string) => {
      if (!on) return [];
      if (id === null) fail(what, `add_${what} is set but there is no ${what}`);
      return [id!];
    };
    template = { prefix: need(special.addBosToken, bosId, 'bos_token'), suffix: need(special.addEosToken, eosId, 'eos_token') };
    // transformers 5's update_post_processor: pair = single + (bos:1) $B:1 (eos:1)
    const a: TemplatePiece[] = [...(template.prefix.length ? [{ ids: template.prefix, typeId: 0 }] : []), { seq: 0, typeId: 0 }, ...(template.suffix.length ? [{ ids: template.suffix, typeId: 0 }] : [])];
    const b: TemplatePiece[] = [...(template.prefix.length ? [{ ids: template.prefix, typeId: 1 }] : []), { seq: 1, typeId: 1 }, ...(template.suffix.length ? [{ ids: template.suffix, typeId: 1 }] : [])];
    postProcessor = { single: a, pair: [...a, ...b], kind: 'template' };
  }

  const fingerprintSource = () => stringifyTokenizerJson(j) + JSON.stringify(special);
  return new BpeTokenizer({ model, addedTokens, normalizers, preTokenizer: steps, decoder, template, postProcessor, bosId, eosId, padId, fingerprintSource });
}

/**
 * added_tokens. HF re-derives their ids on load (the file's ids are only checked, with a warning): a
 * content already in the vocab keeps its vocab id, a new one gets the next id after the vocab.
 */
export function readAddedTokens(r: JsonReader, list: AddedTokenJson[] | undefined, vocab: ReadonlyMap<string, number>): AddedToken[] {
  const fail = r.fail;
  const addedTokens: AddedToken[] = [];
  const addedIds = new Map<string, number>();
  const vocabLen = vocab.size;
  let maxAdded = -1;
  (list ?? []).forEach((t, i) => {
    if (!t || !Number.isInteger(t.id) || t.id < 0 || typeof t.content !== 'string') fail(`added_tokens[${i}]`, `expected {id, content, ...}, got ${JSON.stringify(t)}`);
    if (addedIds.has(t.content)) return;
    const id = vocab.get(t.content) ?? (maxAdded < 0 ? vocabLen : Math.max(maxAdded + 1, vocabLen));
    addedIds.set(t.content, id);
    maxAdded = Math.max(maxAdded, id);
    addedTokens.push({
      id, content: t.content, special: t.special ?? false, lstrip: t.lstrip ?? false, rstrip: t.rstrip ?? false,
      singleWord: t.single_word ?? false, normalized: t.normalized ?? !(t.special ?? false),
    });
  });
  return addedTokens;
}

// ---- building and writing ----

/** A GPT-2-style tokenizer.json (ByteLevel everywhere) for a vocab, merges and added tokens. */
export function gpt2StyleTokenizerJson(vocab: Record<string, number>, merges: [string, string][], added: AddedTokenJson[],
  opts: { addPrefixSpace?: boolean; mergesAsPairs?: boolean } = {}): TokenizerJson {
  const byteLevel = { add_prefix_space: opts.addPrefixSpace ?? false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', ...byteLevel, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab,
      merges: opts.mergesAsPairs ? merges : merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** tokenizer.json text as HF writes it (2-space indent). */
export function stringifyTokenizerJson(j: TokenizerJson): string {
  return JSON.stringify(j, null, 2);
}
