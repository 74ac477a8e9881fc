// What masked-LM training needs from a tokenizer: the mask token, the frame of one text ([CLS] .. [SEP],
// <s> .. </s>), which ids are special, word boundaries for whole-word masking; and RoBERTa's special
// tokens for a byte-level BPE tokenizer without them (a GPT tokenizer reused for an encoder from scratch).
import { GptuneError } from '../util/errors.js';
import { WordPieceTokenizer } from './wordpiece_tokenizer.js';
import { singlePrefixSuffix } from './post_processor.js';
import { stringifyTokenizerJson, tokenizerFromJson, type TokenizerJson, type AddedTokenJson } from './tokenizer_json.js';
import { specialTokenOptions, type LoadedTokenizer } from './load.js';
import type { Tokenizer } from './tokenizer.js';
import { WORD_START, ENDS_WORD } from '../data/mlm.js';

export interface MaskedLMTokens {
  maskId: number;
  padId: number;
  /** The single-text template around a block: [CLS] / <s> before, [SEP] / </s> after. */
  prefix: number[];
  suffix: number[];
  /** Ends each document in the token stream: the template's closing token (HF run_mlm tokenizes each text with its specials). */
  separatorId: number;
  /** (vocabSize) 1 = never chosen for masking. */
  special: Uint8Array;
}

function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/** The mask token: tokenizer_config.json's mask_token, else [MASK] or <mask>; null when there is none. */
export function maskTokenId(t: LoadedTokenizer): number | null {
  for (const name of [tokenText(t.config.mask_token), '[MASK]', '<mask>']) {
    const id = name === null ? undefined : t.tokenizer.tokenToId(name);
    if (id !== undefined) return id;
  }
  return null;
}

export function maskedLMTokens(t: LoadedTokenizer, source: string): MaskedLMTokens {
  const tok = t.tokenizer;
  const maskId = maskTokenId(t);
  if (maskId === null) throw new GptuneError('the tokenizer has no mask token (tokenizer_config.json mask_token, [MASK] or <mask>): masked-LM training needs one', { file: source });
  const { prefix, suffix } = tok.postProcessor ? singlePrefixSuffix(tok.postProcessor) : { prefix: [], suffix: [] };
  const separatorId = suffix.at(-1) ?? tok.eosId;
  if (separatorId == null) throw new GptuneError('the tokenizer adds no closing token ([SEP], </s>) and has no EOS: documents cannot be separated', { file: source });
  const special = new Uint8Array(tok.vocabSize);
  for (let id = 0; id < tok.vocabSize; id++) if (tok.isSpecial(id)) special[id] = 1;
  const padId = tok.padId ?? separatorId;
  for (const id of [maskId, padId, separatorId, ...prefix, ...suffix]) special[id] = 1;
  return { maskId, padId, prefix, suffix, separatorId, special };
}

/**
 * Per token id, for whole-word masking: WORD_START where a token begins a word (WordPiece: no '##';
 * byte-level and SentencePiece: begins with whitespace or '▁'), ENDS_WORD where it ends in whitespace.
 */
export function wordBoundaries(tok: Tokenizer): Uint8Array {
  const flags = new Uint8Array(tok.vocabSize);
  const wp = tok instanceof WordPieceTokenizer ? tok.model.opts.continuingSubwordPrefix : null;
  for (let id = 0; id < tok.vocabSize; id++) {
    const piece = tok.idToToken(id);
    if (piece === undefined) continue;
    if (wp !== null) { if (!piece.startsWith(wp)) flags[id] = WORD_START; continue; }
    const text = tok.decode([id]);
    if (piece.startsWith('▁') || /^\s/u.test(text)) flags[id] |= WORD_START;
    if (/\s$/u.test(text)) flags[id] |= ENDS_WORD;
  }
  return flags;
}

const ROBERTA_FRONT = ['<s>', '<pad>', '</s>'] as const;
const ROBERTA_MASK = '<mask>';

/**
 * A byte-level BPE tokenizer (tokenizer.json) without a mask token gets RoBERTa's special tokens, laid
 * out as RoBERTa's vocabulary has them: <s> <pad> </s> first (the other ids shift up, so pad_token_id is
 * small and RoBERTa's position table, which starts after pad_token_id, stays small), <mask> last; and
 * RoBERTa's "<s> A </s>" post-processor. Returns the new tokenizer and its files, or null when it has a mask token.
 */
export function withRobertaSpecials(t: LoadedTokenizer, source: string): { tokenizer: LoadedTokenizer; added: string[] } | null {
  if (maskTokenId(t) !== null) return null;
  const raw = t.files['tokenizer.json'];
  const j = raw ? JSON.parse(raw) as TokenizerJson : null;
  if (!j || (j.model as { type?: string }).type !== 'BPE') {
    throw new GptuneError('the tokenizer has no mask token, and only a byte-level BPE tokenizer.json can be given RoBERTa\'s (<s> <pad> </s> <mask>)', { file: source });
  }
  const vocab = (j.model as { vocab: Record<string, number> }).vocab;
  const added = (j.added_tokens ?? []) as AddedTokenJson[];
  const has = (s: string) => s in vocab || added.some((a) => a.content === s);
  const front = ROBERTA_FRONT.filter((s) => !has(s));
  const k = front.length;
  const newVocab: Record<string, number> = {};
  front.forEach((s, i) => { newVocab[s] = i; });
  for (const [s, id] of Object.entries(vocab)) newVocab[s] = id + k;
  const newAdded: AddedTokenJson[] = [
    ...front.map((content, id) => specialToken(id, content)),
    ...added.map((a) => ({ ...a, id: a.id + k })),
  ];
  const maskId = Math.max(...Object.values(newVocab), ...newAdded.map((a) => a.id)) + 1;
  newVocab[ROBERTA_MASK] = maskId;
  // RoBERTa's <mask> strips the space before it ("a <mask>" -> "a", "<mask>"), as its tokenizer does.
  newAdded.push({ ...specialToken(maskId, ROBERTA_MASK), lstrip: true });
  const idOf = (s: string) => newVocab[s] ?? newAdded.find((a) => a.content === s)!.id;
  const out: TokenizerJson = {
    ...j, added_tokens: newAdded, model: { ...j.model, vocab: newVocab } as TokenizerJson['model'],
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', idOf('</s>')], cls: ['<s>', idOf('<s>')], trim_offsets: true, add_prefix_space: false } as TokenizerJson['post_processor'],
  };
  const specials = { bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', pad_token: '<pad>', mask_token: ROBERTA_MASK };
  const config: Record<string, unknown> = {
    ...t.config, ...specials, tokenizer_class: 'PreTrainedTokenizerFast',
    added_tokens_decoder: Object.fromEntries(newAdded.map(({ id, ...rest }) => [String(id), rest])),
  };
  // add_bos_token / add_eos_token would replace the post-processor's template (transformers 5's update_post_processor).
  delete config.add_bos_token;
  delete config.add_eos_token;
  const text = stringifyTokenizerJson(out);
  const tokenizer = tokenizerFromJson(JSON.parse(text), specialTokenOptions(config, source), source);
  const files: Record<string, string> = {
    'tokenizer.json': text,
    'tokenizer_config.json': JSON.stringify(config, null, 2) + '\n',
    'special_tokens_map.json': JSON.stringify(specials, null, 2) + '\n',
  };
  // vocab.json / merges.txt / added_tokens.json would hold the old ids: left out, tokenizer.json is complete.
  return { tokenizer: { tokenizer, config, chatTemplate: null, files }, added: [...front, ROBERTA_MASK] };
}

function specialToken(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}
