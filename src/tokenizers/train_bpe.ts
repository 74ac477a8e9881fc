// Trains a byte-level BPE vocab as Hugging Face tokenizers' BpeTrainer does behind a ByteLevel
// pre-tokenizer (GPT-2 regex, no prefix space), so `gptune tokenizer train` gives HF's merges, and
// writes the result as tokenizer.json (+ the slow-tokenizer files) that HF and transformers load.
//
// Rules, all as in HF (tokenizers/src/models/bpe/trainer.rs), checked against tokenizers 0.23.2:
// - ids: special tokens first (in the given order), then the alphabet sorted by code point, then one
//   id per merge in merge order. A merge whose string already exists (e.g. "a"+"bc" after "ab"+"c")
//   is still recorded but reuses that id, so the vocab does not grow. (HF's heap may then hold the
//   pair twice and record it twice; here a pair is merged once. No such case turned up in 2,000 random
//   corpora nor in 10 MB of English, where both trainers agree merge for merge.)
// - the alphabet is all 256 byte characters (HF's initial_alphabet=ByteLevel.alphabet(), as
//   transformers' train_new_from_iterator passes), so any text encodes without an unk token.
// - each step merges the pair with the highest count (word frequency x occurrences); ties go to the
//   pair with the smallest (left id, right id), i.e. the older tokens, not the lexicographically
//   smallest strings. Occurrences are merged left to right without overlap ("a a a" -> "aa a").
// - it stops when the vocab holds vocabSize entries (specials and alphabet included) or the best
//   count is below max(1, minFrequency). HF's default minFrequency is 0: pairs seen once still merge.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GptuneError } from '../util/errors.js';
import { writeFileAtomicSync } from '../util/fs_atomic.js';
import { BYTE_TO_CHAR, GPT2_REGEX_SOURCE } from './byte_level.js';

// GPT-2's split pattern (as HF's ByteLevel matches it) and its byte alphabet, shared with the encoder.
const GPT2_SPLIT = new RegExp(GPT2_REGEX_SOURCE, 'gu');

// ---- public API ----

export interface TrainBpeOptions {
  /** Size of the final vocab, special tokens and the 256-byte alphabet included. */
  vocabSize: number;
  /** Added as special tokens with the first ids. Default ['<|endoftext|>']. */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are not merged. Default 0 (HF's; a pair seen once still merges). */
  minFrequency?: number;
  /** 'bytes' (default): all 256 byte symbols, as HF with ByteLevel.alphabet(); 'seen': only bytes in the text (HF's bare default). */
  initialAlphabet?: 'bytes' | 'seen';
  onProgress?: (p: TrainProgress) => void;
}

export type TrainProgress =
  | { phase: 'count'; texts: number; chars: number; words: number }
  | { phase: 'merge'; merges: number; vocab: number; vocabSize: number };

export interface TrainBpeResult {
  /** token -> id. Key order is not id order in JS (digit tokens like "7" sort first); the saved files are in id order. */
  vocab: Record<string, number>;
  /** In rank order. */
  merges: [string, string][];
  specialTokens: string[];
}

/** Pre-tokenizes texts with GPT-2's regex and counts the distinct pre-tokens (the first half of training). */
export class WordCounter {
  readonly counts = new Map<string, number>();
  texts = 0;
  chars = 0;

  add(text: string): void {
    this.texts++;
    this.chars += text.length;
    // match() with /g returns just the strings: no match objects in the hot loop.
    const words = text.match(GPT2_SPLIT);
    if (words === null) return;
    const counts = this.counts;
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
}

/** Trains on texts (each one is pre-tokenized on its own, as HF treats each sequence fed to it). */
export async function trainBpe(texts: Iterable<string> | AsyncIterable<string>, opts: TrainBpeOptions): Promise<TrainBpeResult> {
  checkOptions(opts, texts);
  const counter = new WordCounter();
  let lastReport = 0;
  for await (const t of texts as AsyncIterable<string>) {
    if (typeof t !== 'string') throw new GptuneError(`trainBpe: expected texts to be strings, got ${typeof t}`);
    counter.add(t);
    if (opts.onProgress && counter.chars - lastReport >= 1 << 20) {
      lastReport = counter.chars;
      opts.onProgress({ phase: 'count', texts: counter.texts, chars: counter.chars, words: counter.counts.size });
    }
  }
  opts.onProgress?.({ phase: 'count', texts: counter.texts, chars: counter.chars, words: counter.counts.size });
  return bpeFromWordCounts(counter.counts, opts);
}

/** trainBpe for texts already in memory. */
export function trainBpeSync(texts: Iterable<string>, opts: TrainBpeOptions): TrainBpeResult {
  checkOptions(opts, texts);
  const counter = new WordCounter();
  for (const t of texts) counter.add(t);
  return bpeFromWordCounts(counter.counts, opts);
}

function checkOptions(opts: TrainBpeOptions, texts?: unknown): void {
  // A string is an iterable of its characters: it would train on one-character texts without a word.
  if (typeof texts === 'string') throw new GptuneError('trainBpe: expected an iterable of texts, got one string (wrap it in an array)');
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 1) {
    throw new GptuneError(`vocab size must be a positive integer, got ${opts.vocabSize}`, { key: 'vocabSize' });
  }
  const mf = opts.minFrequency ?? 0;
  if (!Number.isFinite(mf) || mf < 0) throw new GptuneError(`min frequency must be >= 0, got ${mf}`, { key: 'minFrequency' });
  for (const s of opts.specialTokens ?? []) {
    if (typeof s !== 'string' || s === '') throw new GptuneError(`special tokens must be non-empty strings, got ${JSON.stringify(s)}`, { key: 'specialTokens' });
  }
}

// ---- the merge loop ----

/** Growable typed array helpers: pair tables grow as merges create pairs. */
function grow<T extends Int32Array | Float64Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Runs the BPE merges over counted pre-tokens (raw text, not yet byte-mapped). */
export function bpeFromWordCounts(counts: Map<string, number>, opts: TrainBpeOptions): TrainBpeResult {
  checkOptions(opts);
  const vocabSize = opts.vocabSize;
  const minFrequency = opts.minFrequency ?? 0;
  const specialTokens = [...(opts.specialTokens ?? ['<|endoftext|>'])];

  // Vocab: id -> string and back.
  const tokens: string[] = [];
  const tokenId = new Map<string, number>();
  const addToken = (s: string): number => {
    let id = tokenId.get(s);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(s);
      tokenId.set(s, id);
    }
    return id;
  };
  for (const s of specialTokens) addToken(s);

  // Words as UTF-8 bytes, laid end to end: sym[wordOff[w] .. + wordLen[w]) are word w's symbol ids.
  const nWords = counts.size;
  const wordFreq = new Float64Array(nWords);       // (W,) occurrences of each distinct pre-token
  const wordOff = new Int32Array(nWords);          // (W,)
  const wordLen = new Int32Array(nWords);          // (W,) shrinks as merges apply
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let total = 0, w = 0;
  const seen = new Uint8Array(256);
  for (const [word, freq] of counts) {
    const bytes = encoder.encode(word);
    chunks.push(bytes);
    wordFreq[w] = freq;
    wordOff[w] = total;
    wordLen[w] = bytes.length;
    total += bytes.length;
    for (let i = 0; i < bytes.length; i++) seen[bytes[i]] = 1;
    w++;
  }

  // Alphabet sorted by code point of its character (as HF sorts it).
  const alphabet: number[] = [];
  for (let b = 0; b < 256; b++) if (opts.initialAlphabet === 'seen' ? seen[b] : true) alphabet.push(b);
  alphabet.sort((a, b) => BYTE_TO_CHAR[a].charCodeAt(0) - BYTE_TO_CHAR[b].charCodeAt(0));
  const byteId = new Int32Array(256).fill(-1);
  for (const b of alphabet) byteId[b] = addToken(BYTE_TO_CHAR[b]);

  const sym = new Int32Array(total);               // (sum of word lengths,) symbol ids
  for (let i = 0, o = 0; i < chunks.length; i++) {
    const c = chunks[i];
    for (let j = 0; j < c.length; j++) sym[o++] = byteId[c[j]];
  }
  chunks.length = 0;

  // Pairs: dense index per distinct (left, right), looked up through one Map per left id.
  let pairCap = 1 << 16;
  let pLeft = new Int32Array(pairCap), pRight = new Int32Array(pairCap);
  let pCount = new Float64Array(pairCap);          // current weighted count of each pair
  let pStamp = new Int32Array(pairCap);            // last step that raised the count (dedups the touched list)
  const pWords: number[][] = [];                   // words that held the pair when it was raised (may be stale)
  const byLeft: (Map<number, number> | undefined)[] = [];
  let nPairs = 0;
  const pairIndex = (a: number, b: number): number => {
    let m = byLeft[a];
    if (m === undefined) byLeft[a] = m = new Map();
    let p = m.get(b);
    if (p === undefined) {
      p = nPairs++;
      if (p >= pairCap) {
        pairCap *= 2;
        pLeft = grow(pLeft, pairCap); pRight = grow(pRight, pairCap);
        pCount = grow(pCount, pairCap); pStamp = grow(pStamp, pairCap);
      }
      pLeft[p] = a; pRight[p] = b; pCount[p] = 0; pStamp[p] = -1;
      pWords.push([]);
      m.set(b, p);
    }
    return p;
  };

  // Max-heap of (count, pair) with lazy invalidation: an entry whose count is no longer the pair's
  // count is re-pushed with the current one when it reaches the top (as HF does).
  let heapCap = 1 << 16;
  let hCount = new Float64Array(heapCap), hPair = new Int32Array(heapCap);
  let heapLen = 0;
  // i ranks above j: higher count, then smaller (left, right) ids.
  const above = (ci: number, pi: number, cj: number, pj: number): boolean =>
    ci !== cj ? ci > cj : pLeft[pi] !== pLeft[pj] ? pLeft[pi] < pLeft[pj] : pRight[pi] < pRight[pj];
  const heapPush = (c: number, p: number) => {
    if (heapLen === heapCap) { heapCap *= 2; hCount = grow(hCount, heapCap); hPair = grow(hPair, heapCap); }
    let i = heapLen++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!above(c, p, hCount[parent], hPair[parent])) break;
      hCount[i] = hCount[parent]; hPair[i] = hPair[parent];
      i = parent;
    }
    hCount[i] = c; hPair[i] = p;
  };
  const heapPop = () => {     // removes the top; read it from hCount[0], hPair[0] first
    const c = hCount[--heapLen], p = hPair[heapLen];
    let i = 0;
    for (;;) {
      let k = 2 * i + 1;
      if (k >= heapLen) break;
      if (k + 1 < heapLen && above(hCount[k + 1], hPair[k + 1], hCount[k], hPair[k])) k++;
      if (!above(hCount[k], hPair[k], c, p)) break;
      hCount[i] = hCount[k]; hPair[i] = hPair[k];
      i = k;
    }
    hCount[i] = c; hPair[i] = p;
  };

  // Initial pair counts and word lists.
  let step = 0;
  const touched: number[] = [];                    // pairs raised during this step
  const raise = (a: number, b: number, f: number, word: number) => {
    const p = pairIndex(a, b);
    pCount[p] += f;
    const ws = pWords[p];
    if (ws.length === 0 || ws[ws.length - 1] !== word) ws.push(word);
    if (pStamp[p] !== step) { pStamp[p] = step; touched.push(p); }
  };
  for (let wi = 0; wi < nWords; wi++) {
    const o = wordOff[wi], n = wordLen[wi], f = wordFreq[wi];
    for (let i = o; i + 1 < o + n; i++) raise(sym[i], sym[i + 1], f, wi);
  }
  for (const p of touched) if (pCount[p] > 0) heapPush(pCount[p], p);
  touched.length = 0;

  const merges: [string, string][] = [];
  const wordStamp = new Int32Array(nWords).fill(-1); // last step that merged in each word (dedups pWords)
  const report = opts.onProgress;
  while (tokens.length < vocabSize && heapLen > 0) {
    const c = hCount[0], p = hPair[0];
    heapPop();
    const actual = pCount[p];
    if (c !== actual) {
      if (actual > 0) heapPush(actual, p);
      continue;
    }
    if (c < 1 || c < minFrequency) break;

    step++;
    const A = pLeft[p], B = pRight[p];
    merges.push([tokens[A], tokens[B]]);
    const Z = addToken(tokens[A] + tokens[B]);
    const ws = pWords[p];
    pWords[p] = [];
    pCount[p] = 0;                                 // every occurrence is merged below
    for (let k = 0; k < ws.length; k++) {
      const wi = ws[k];
      if (wordStamp[wi] === step) continue;
      wordStamp[wi] = step;
      const o = wordOff[wi], end = o + wordLen[wi], f = wordFreq[wi];
      // In place, left to right: j writes, i reads (j <= i), so sym[i + 2] is still the old next symbol.
      let j = o;
      for (let i = o; i < end;) {
        if (sym[i] === A && i + 1 < end && sym[i + 1] === B) {
          if (j > o) {
            const prev = sym[j - 1];
            pCount[pairIndex(prev, A)] -= f;
            raise(prev, Z, f, wi);
          }
          if (i + 2 < end) {
            const next = sym[i + 2];
            pCount[pairIndex(B, next)] -= f;
            raise(Z, next, f, wi);
          }
          sym[j++] = Z;
          i += 2;
        } else {
          sym[j++] = sym[i++];
        }
      }
      wordLen[wi] = j - o;
    }
    // "a a a" merging (a, a) counts its own pair down; the merged pair is gone either way.
    pCount[p] = 0;
    for (const q of touched) if (pCount[q] > 0) heapPush(pCount[q], q);
    touched.length = 0;
    if (report && (merges.length & 255) === 0) report({ phase: 'merge', merges: merges.length, vocab: tokens.length, vocabSize });
  }
  report?.({ phase: 'merge', merges: merges.length, vocab: tokens.length, vocabSize });

  // fromEntries defines own properties, so even a token named "__proto__" is kept as data.
  const vocab: Record<string, number> = Object.fromEntries(tokens.map((t, id) => [t, id]));
  return { vocab, merges, specialTokens };
}

// ---- saving ----

export interface SaveTrainedTokenizerOptions {
  /** tokenizer_config.json's model_max_length (the model's context length). */
  modelMaxLength: number;
  /** bos/eos/unk token; default '<|endoftext|>' when it is a special token, else the first special token. */
  eosToken?: string | null;
  /** Write merges as [a, b] pairs (tokenizers >= 0.20 only) instead of "a b" strings. Default false. */
  mergesAsPairs?: boolean;
}

/** vocab as JSON text in id order, as HF writes it; JSON.stringify would put integer-like keys ("7") first. */
function vocabJsonText(vocab: Record<string, number>, indent: string): string {
  const entries = Object.entries(vocab).sort((a, b) => a[1] - b[1]);
  if (indent === '') return '{' + entries.map(([t, id]) => `${JSON.stringify(t)}:${id}`).join(',') + '}';
  const inner = indent + '  ';
  return '{\n' + entries.map(([t, id]) => `${inner}${JSON.stringify(t)}: ${id}`).join(',\n') + '\n' + indent + '}';
}

/** The tokenizer.json text for a trained result, as HF tokenizers writes it (2-space indent, vocab in id order). */
export function trainedTokenizerJson(result: TrainBpeResult, mergesAsPairs = false): string {
  const VOCAB = '\u0000vocab';                      // placeholder, swapped for the id-ordered text below
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  const j = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: result.specialTokens.map((content) => ({
      id: result.vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', ...byteLevel, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: VOCAB,
      // Byte-level tokens never hold a plain space (it is 'Ġ'), so "a b" is unambiguous.
      merges: mergesAsPairs ? result.merges : result.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  // The last match is the model's: merges come after it and byte-level tokens never hold U+0000.
  const text = JSON.stringify(j, null, 2), at = text.lastIndexOf(JSON.stringify(VOCAB));
  return text.slice(0, at) + vocabJsonText(result.vocab, '    ') + text.slice(at + JSON.stringify(VOCAB).length);
}

/**
 * Writes dir/tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.json and merges.txt,
 * each atomically (temp file + rename), creating dir if needed.
 */
export function saveTrainedTokenizer(dir: string, result: TrainBpeResult, opts: SaveTrainedTokenizerOptions): void {
  if (!Number.isInteger(opts.modelMaxLength) || opts.modelMaxLength < 1) {
    throw new GptuneError(`model max length must be a positive integer, got ${opts.modelMaxLength}`, { key: 'modelMaxLength' });
  }
  for (const s of result.specialTokens) {
    if (result.vocab[s] === undefined) throw new GptuneError(`special token ${JSON.stringify(s)} is not in the vocab`);
  }
  const eos = opts.eosToken !== undefined ? opts.eosToken
    : result.specialTokens.includes('<|endoftext|>') ? '<|endoftext|>' : result.specialTokens[0] ?? null;
  mkdirSync(dir, { recursive: true });

  writeFileAtomicSync(join(dir, 'tokenizer.json'), trainedTokenizerJson(result, opts.mergesAsPairs ?? false));

  // As transformers' GPT2Tokenizer(Fast).save_pretrained writes it for a GPT-2-style tokenizer.
  const addedTokensDecoder: Record<string, object> = {};
  for (const s of result.specialTokens) {
    addedTokensDecoder[String(result.vocab[s])] = { content: s, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  }
  const config = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: eos,
    clean_up_tokenization_spaces: false,
    eos_token: eos,
    errors: 'replace',
    model_max_length: opts.modelMaxLength,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: eos,
  };
  writeFileAtomicSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  const map = eos === null ? {} : { bos_token: eos, eos_token: eos, unk_token: eos };
  writeFileAtomicSync(join(dir, 'special_tokens_map.json'), JSON.stringify(map, null, 2) + '\n');

  // The slow format, as HF's BPE model.save writes it: vocab in id order, merges.txt with its header.
  writeFileAtomicSync(join(dir, 'vocab.json'), vocabJsonText(result.vocab, '') + '\n');
  writeFileAtomicSync(join(dir, 'merges.txt'), '#version: 0.2\n' + result.merges.map(([a, b]) => `${a} ${b}\n`).join(''));
}
