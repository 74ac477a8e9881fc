// Encoder inputs: one text or a pair through the tokenizer's post-processor, with token type ids and
// each token's word index (HF's word_ids(), for labelling the first sub-token of a word), truncated
// to a max length the way Hugging Face's fast tokenizers do (longest_first for pairs).
import { BpeTokenizer } from './bpe_tokenizer.js';
import { addedCount, NO_POST_PROCESSOR, type PostProcessor } from './post_processor.js';
import type { Tokenizer, WordIds } from './tokenizer.js';

export interface EncodedInput {
  ids: number[];
  /** Token type (segment) ids: 0 for the first text, 1 for the second where the template says so. */
  typeIds: number[];
  /** Index of the input word each token came from, per sequence; null for special tokens. */
  wordIds: (number | null)[];
  /** Which input each token came from (0 or 1); null for special tokens. */
  sequenceIds: (0 | 1 | null)[];
  /** True when tokens were cut to fit maxLength. */
  truncated: boolean;
}

export interface EncodeInputOptions {
  /** Total length, special tokens included; the texts are cut to fit (longest_first). */
  maxLength?: number;
  /** Add the template's special tokens ([CLS], [SEP], <s>, ...). Default true. */
  addSpecialTokens?: boolean;
}

function wordEncoder(tok: Tokenizer): (text: string) => WordIds {
  if (!tok.encodeWords) throw new Error('this tokenizer does not give word ids (encodeWords); encoder inputs need a tokenizer.json, vocab.json + merges.txt or vocab.txt tokenizer');
  return (t) => tok.encodeWords!(t);
}

/** The tokenizer's single/pair template (none when it has no post-processor). */
export function postProcessorOf(tok: Tokenizer): PostProcessor {
  return tok.postProcessor ?? NO_POST_PROCESSOR;
}

/** Whether the model takes token_type_ids: not RoBERTa's (transformers leaves them out of its inputs). */
export function takesTypeIds(tok: Tokenizer): boolean {
  return postProcessorOf(tok).kind !== 'roberta';
}

/** tokenizer(text, text_pair, truncation=True, max_length=maxLength) with word_ids(). */
export function encodeInput(tok: Tokenizer, text: string, textPair: string | null = null, opts: EncodeInputOptions = {}): EncodedInput {
  const enc = wordEncoder(tok);
  return assemble(tok, enc(text), textPair === null ? null : enc(textPair), opts);
}

/**
 * tokenizer(words, is_split_into_words=True): each word encoded on its own, so every token maps to the
 * word it came from. Byte-level BPE (RoBERTa) gets a space before each word, as add_prefix_space=True does.
 */
export function encodeWordsInput(tok: Tokenizer, words: string[], pairWords: string[] | null = null, opts: EncodeInputOptions = {}): EncodedInput {
  const enc = wordEncoder(tok);
  const prefixSpace = tok instanceof BpeTokenizer && tok.model.byteLevel;
  const one = (ws: string[]): WordIds => {
    const ids: number[] = [], wordIds: number[] = [];
    ws.forEach((w, i) => {
      const e = enc(prefixSpace && !w.startsWith(' ') ? ' ' + w : w);
      for (const id of e.ids) { ids.push(id); wordIds.push(i); }
    });
    return { ids, wordIds };
  };
  return assemble(tok, one(words), pairWords === null ? null : one(pairWords), opts);
}

/**
 * HF tokenizers' truncate_encodings with LongestFirst: the shorter keeps what it can, the longer gets the
 * rest; when both must be cut each gets half (the second one the odd token).
 */
export function longestFirst(n1: number, n2: number, budget: number): [number, number] {
  if (n1 + n2 <= budget) return [n1, n2];
  let a = n1, b = n2, swap = false;
  if (a > b) { [a, b] = [b, a]; swap = true; }
  b = a > budget ? a : Math.max(a, budget - a);
  if (a + b > budget) { a = Math.floor(budget / 2); b = a + (budget % 2); }
  return swap ? [b, a] : [a, b];
}

function assemble(tok: Tokenizer, a: WordIds, b: WordIds | null, opts: EncodeInputOptions): EncodedInput {
  const special = opts.addSpecialTokens ?? true;
  const pp = postProcessorOf(tok);
  const template = b === null ? pp.single : pp.pair;
  let truncated = false;
  if (opts.maxLength !== undefined) {
    const budget = Math.max(0, opts.maxLength - (special ? addedCount(template) : 0));
    const [na, nb] = b === null ? [Math.min(a.ids.length, budget), 0] : longestFirst(a.ids.length, b.ids.length, budget);
    if (na < a.ids.length || (b !== null && nb < b.ids.length)) truncated = true;
    a = { ids: a.ids.slice(0, na), wordIds: a.wordIds.slice(0, na) };
    if (b) b = { ids: b.ids.slice(0, nb), wordIds: b.wordIds.slice(0, nb) };
  }
  const out: EncodedInput = { ids: [], typeIds: [], wordIds: [], sequenceIds: [], truncated };
  const seqs = [a, b];
  const pieces = special ? template : template.filter((p) => 'seq' in p);
  for (const p of pieces) {
    if ('ids' in p) {
      for (const id of p.ids) { out.ids.push(id); out.typeIds.push(p.typeId); out.wordIds.push(null); out.sequenceIds.push(null); }
      continue;
    }
    const s = seqs[p.seq]!;
    s.ids.forEach((id, i) => { out.ids.push(id); out.typeIds.push(p.typeId); out.wordIds.push(s.wordIds[i]); out.sequenceIds.push(p.seq); });
  }
  return out;
}
