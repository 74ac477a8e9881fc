// WordPiece tokenizers (BERT family) from tokenizer.json, or from a bare vocab.txt with
// tokenizer_config.json's do_lower_case / tokenize_chinese_chars / strip_accents, assembled as
// transformers' BertConverter does (BertNormalizer, BertPreTokenizer, "[CLS] $A [SEP] $B:1 [SEP]:1").
import { readFileSync } from 'node:fs';
import { GptuneError, describe } from '../util/errors.js';
import type { BertNormalizerOptions } from './bert_normalizer.js';
import { jsonReader, type JsonReader } from './pipeline_json.js';
import { readPostProcessor, type PostProcessorJson } from './post_processor.js';
import { readAddedTokens, type AddedTokenJson, type SpecialTokenOptions } from './tokenizer_json.js';
import { WordPieceModel } from './wordpiece.js';
import { WordPieceTokenizer } from './wordpiece_tokenizer.js';

export interface WordPieceModelJson {
  type: 'WordPiece';
  unk_token?: string;
  continuing_subword_prefix?: string;
  max_input_chars_per_word?: number;
  vocab: Record<string, number>;
}

export interface WordPieceTokenizerJson {
  added_tokens?: AddedTokenJson[];
  normalizer: { type: string; clean_text?: boolean; handle_chinese_chars?: boolean; strip_accents?: boolean | null; lowercase?: boolean } | null;
  pre_tokenizer: { type: string } | null;
  post_processor: PostProcessorJson | null;
  decoder: { type: string; prefix?: string; cleanup?: boolean } | null;
  model: WordPieceModelJson;
}

/** tokenizer.json's model.type (BPE files may leave it out). */
export function tokenizerModelType(j: unknown): string | undefined {
  const m = (j as { model?: { type?: unknown } })?.model;
  return typeof m?.type === 'string' ? m.type : undefined;
}

export function wordPieceFromJson(j: WordPieceTokenizerJson, special: SpecialTokenOptions = {}, file = 'tokenizer.json'): WordPieceTokenizer {
  const r = jsonReader(file);
  const m = j.model;
  if (typeof m.vocab !== 'object' || m.vocab === null || Array.isArray(m.vocab)) r.fail('model.vocab', `expected an object of token -> id, got ${describe(m.vocab)}`);
  const n = j.normalizer;
  let normalizer: BertNormalizerOptions | null = null;
  if (n) {
    if (n.type !== 'BertNormalizer') r.unsupported('normalizer', n.type);
    normalizer = { cleanText: n.clean_text ?? true, handleChineseChars: n.handle_chinese_chars ?? true, stripAccents: n.strip_accents ?? null, lowercase: n.lowercase ?? true };
  }
  if (j.pre_tokenizer && j.pre_tokenizer.type !== 'BertPreTokenizer') r.unsupported('pre_tokenizer', j.pre_tokenizer.type);
  if (j.decoder && j.decoder.type !== 'WordPiece') r.unsupported('decoder', j.decoder.type);
  const model = buildModel(r, new Map(Object.entries(m.vocab)), m.unk_token ?? '[UNK]', m.continuing_subword_prefix ?? '##', m.max_input_chars_per_word ?? 100);
  const addedTokens = readAddedTokens(r, j.added_tokens, model.vocab);
  return assemble(model, addedTokens, normalizer, readPostProcessor(r, j.post_processor), { prefix: j.decoder?.prefix ?? '##', cleanup: j.decoder?.cleanup ?? true }, special,
    () => JSON.stringify(j) + JSON.stringify(special));
}

function buildModel(r: JsonReader, vocab: Map<string, number>, unk: string, prefix: string, maxChars: number): WordPieceModel {
  try {
    return new WordPieceModel(vocab, { unkToken: unk, continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars });
  } catch (e) {
    return r.fail('model.unk_token', (e as Error).message);
  }
}

function assemble(model: WordPieceModel, addedTokens: ReturnType<typeof readAddedTokens>, normalizer: BertNormalizerOptions | null,
  postProcessor: ReturnType<typeof readPostProcessor>, decoder: { prefix: string; cleanup: boolean }, special: SpecialTokenOptions, fingerprintSource: () => string): WordPieceTokenizer {
  const idOf = (tok: string | null | undefined) => (tok == null ? null : addedTokens.find((a) => a.content === tok)?.id ?? model.vocab.get(tok) ?? null);
  return new WordPieceTokenizer({
    model, addedTokens, normalizer, postProcessor, decoder,
    // BERT has no BOS/EOS; [CLS]/[SEP] play those parts (transformers' cls_token/sep_token).
    bosId: idOf(special.bosToken ?? null), eosId: idOf(special.eosToken ?? null), padId: idOf(special.padToken ?? '[PAD]'), fingerprintSource,
  });
}

/** A folder's vocab.txt (one token per line, id = line number) with its tokenizer_config.json settings. */
export function loadVocabTxt(path: string, config: Record<string, unknown>, configFile = 'tokenizer_config.json'): WordPieceTokenizer {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  // transformers' load_vocab: each line stripped of its newline (and trailing \r) is a token.
  lines.forEach((l, i) => { const t = l.replace(/\r$/, ''); if (!vocab.has(t)) vocab.set(t, i); });
  const str = (k: string, d: string) => {
    const v = config[k];
    if (v === undefined || v === null) return d;
    if (typeof v === 'string') return v;
    if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
    throw new GptuneError(`expected a string, got ${describe(v)}`, { file: configFile, key: k });
  };
  const bool = (k: string, d: boolean | null) => {
    const v = config[k];
    if (v === undefined || v === null) return d;
    if (typeof v !== 'boolean') throw new GptuneError(`expected true or false, got ${describe(v)}`, { file: configFile, key: k });
    return v;
  };
  const r = jsonReader(path);
  const unk = str('unk_token', '[UNK]'), sep = str('sep_token', '[SEP]'), cls = str('cls_token', '[CLS]'), pad = str('pad_token', '[PAD]'), mask = str('mask_token', '[MASK]');
  const model = buildModel(r, vocab, unk, '##', 100);
  const lowercase = bool('do_lower_case', true)!;
  const normalizer: BertNormalizerOptions = { cleanText: true, handleChineseChars: bool('tokenize_chinese_chars', true)!, stripAccents: bool('strip_accents', null), lowercase };
  const specials = [pad, unk, cls, sep, mask].filter((t) => vocab.has(t));
  const addedTokens = readAddedTokens(r, specials.map((t) => ({ id: vocab.get(t)!, content: t, special: true, normalized: false })), vocab);
  const idOf = (t: string) => vocab.get(t) ?? r.fail('vocab', `special token '${t}' is not in vocab.txt`);
  const clsId = idOf(cls), sepId = idOf(sep);
  const postProcessor = readPostProcessor(r, {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
    pair: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: sep, type_id: 1 } }],
    special_tokens: { [cls]: { id: cls, ids: [clsId], tokens: [cls] }, [sep]: { id: sep, ids: [sepId], tokens: [sep] } },
  });
  return assemble(model, addedTokens, normalizer, postProcessor, { prefix: '##', cleanup: true }, { padToken: pad },
    () => text + JSON.stringify(normalizer) + JSON.stringify([unk, sep, cls, pad, mask]));
}
