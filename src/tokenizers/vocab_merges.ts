// GPT-2's original tokenizer files: vocab.json (token -> id) and merges.txt (one "left right" merge per
// line in rank order, after an optional "#version" line). Read into, and written from, tokenizer.json form.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenizerFromJson, gpt2StyleTokenizerJson, type AddedTokenJson, type SpecialTokenOptions, type TokenizerJson } from './tokenizer_json.js';
import type { BpeTokenizer } from './bpe_tokenizer.js';
import { GptuneError, describe, errorMessage } from '../util/errors.js';
import { writeFileAtomicSync } from '../util/fs_atomic.js';
import { readJsonObject } from '../util/json_file.js';

export function readVocabJson(path: string): Record<string, number> {
  const json = readJsonObject(path, 'an object of token -> id');
  for (const [tok, id] of Object.entries(json)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new GptuneError(`id must be a non-negative integer, got ${describe(id)}`, { file: path, key: tok });
  }
  return json as Record<string, number>;
}

export function readMergesTxt(path: string): [string, string][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GptuneError(`cannot read: ${errorMessage(e)}`, { file: path });
  }
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const merges: [string, string][] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('#version')) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new GptuneError(`expected "left right", got ${JSON.stringify(line)}`, { file: path, line: i + 1 });
    merges.push(parts as [string, string]);
  });
  return merges;
}

/**
 * vocab.json + merges.txt as a GPT-2-style tokenizer. Tokens like <|endoftext|> that are in the vocab
 * but not produced by any merge are treated as special added tokens, as GPT2Tokenizer does with its
 * configured special tokens.
 */
export function vocabMergesToJson(vocab: Record<string, number>, merges: [string, string][], specialTokens: string[] = ['<|endoftext|>']): TokenizerJson {
  const added: AddedTokenJson[] = specialTokens.filter((t) => t in vocab).map((t) => ({
    id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true,
  }));
  return gpt2StyleTokenizerJson(vocab, merges, added);
}

export function loadVocabMerges(vocabPath: string, mergesPath: string, special: SpecialTokenOptions & { specialTokens?: string[] } = {}): BpeTokenizer {
  const vocab = readVocabJson(vocabPath);
  const merges = readMergesTxt(mergesPath);
  const specials = special.specialTokens ?? [...new Set([special.bosToken, special.eosToken, special.padToken, '<|endoftext|>'].filter((t): t is string => typeof t === 'string'))];
  const withDefaults: SpecialTokenOptions = '<|endoftext|>' in vocab
    ? { bosToken: '<|endoftext|>', eosToken: '<|endoftext|>', ...special }
    : special;
  return tokenizerFromJson(vocabMergesToJson(vocab, merges, specials), withDefaults, mergesPath);
}

/** Writes vocab.json and merges.txt as transformers' GPT2Tokenizer.save_vocabulary does. */
export function saveVocabMerges(dir: string, j: TokenizerJson): void {
  const vocab = j.model.vocab;
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(vocab).sort(compareCodePoints)) sorted[k] = vocab[k];
  writeFileAtomicSync(join(dir, 'vocab.json'), JSON.stringify(sorted, null, 2) + '\n');
  const lines = j.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  writeFileAtomicSync(join(dir, 'merges.txt'), '#version: 0.2\n' + lines.map((l) => l + '\n').join(''));
}

// Python sorts str keys by code point; JS's default sort is by UTF-16 unit.
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n;) {
    const x = a.codePointAt(i)!, y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}
