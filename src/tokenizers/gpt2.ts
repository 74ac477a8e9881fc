// The built-in GPT-2 tokenizer (`--tokenizer gpt2`), offline: built from the gpt2 ranks that the
// js-tiktoken package ships, turned into a byte-level BPE vocab and merge list that Hugging Face
// tokenizers loads (tokenizer.json, or vocab.json + merges.txt).
//
// tiktoken stores only token ranks. GPT-2's ranks are its ids: 0-255 are the single bytes, and rank
// 256 + i is the token made by merge i. The merges are recovered the way tiktoken's ranks imply they
// were applied: for each multi-byte token in rank order, run BPE on its own bytes using only tokens of
// lower rank; it stops at exactly two parts, and that pair is the merge that makes the token.
import { createRequire } from 'node:module';
import { bytesToToken } from './byte_level.js';
import { tokenizerFromJson, gpt2StyleTokenizerJson, type TokenizerJson } from './tokenizer_json.js';
import type { BpeTokenizer } from './bpe_tokenizer.js';
import { GptuneError } from '../util/errors.js';

export const GPT2_EOS = '<|endoftext|>';
export const GPT2_EOS_ID = 50256;

interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

function loadRanks(): TiktokenRanks {
  const require = createRequire(import.meta.url);
  try {
    const m = require('js-tiktoken/ranks/gpt2') as TiktokenRanks | { default: TiktokenRanks };
    return 'default' in m ? m.default : m;
  } catch (e) {
    throw new GptuneError(`the built-in GPT-2 tokenizer needs the js-tiktoken package (npm install js-tiktoken@1.0.21): ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Token bytes by rank from tiktoken's compressed format: lines of "! <first rank> <base64> <base64> ...". */
export function parseTiktokenRanks(bpeRanks: string): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  for (const line of bpeRanks.split('\n')) {
    if (!line) continue;
    const [, offsetStr, ...b64] = line.split(' ');
    const offset = Number(offsetStr);
    b64.forEach((t, i) => { tokens[offset + i] = new Uint8Array(Buffer.from(t, 'base64')); });
  }
  return tokens;
}

/** Recovers the merge (left rank, right rank) that makes each multi-byte token, in rank order. */
export function recoverMerges(tokens: readonly Uint8Array[]): { token: number; left: number; right: number }[] {
  const keys = tokens.map((b) => Buffer.from(b).toString('latin1'));
  const rankOf = new Map<string, number>();
  keys.forEach((k, r) => rankOf.set(k, r));
  const byteRank = new Int32Array(256).fill(-1);
  tokens.forEach((b, r) => { if (b.length === 1) byteRank[b[0]] = r; });
  // Every way of writing each token as two tokens: (left, right) -> token, in an integer hash table,
  // so the loop below never builds strings.
  let size = 1 << 16;
  while (size < tokens.length * 8) size <<= 1;
  const mask = size - 1;
  const tabA = new Int32Array(size).fill(-1), tabB = new Int32Array(size), tabR = new Int32Array(size);
  const slot = (a: number, b: number) => {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & mask;
    while (tabA[h] !== -1 && (tabA[h] !== a || tabB[h] !== b)) h = (h + 1) & mask;
    return h;
  };
  keys.forEach((k, t) => {
    for (let i = 1; i < k.length; i++) {
      const a = rankOf.get(k.slice(0, i));
      if (a === undefined) continue;
      const b = rankOf.get(k.slice(i));
      if (b === undefined) continue;
      const h = slot(a, b);
      tabA[h] = a; tabB[h] = b; tabR[h] = t;
    }
  });
  const concatRank = (a: number, b: number): number => {
    const h = slot(a, b);
    return tabA[h] === -1 ? -1 : tabR[h];
  };
  const merges: { token: number; left: number; right: number }[] = [];
  for (let r = 0; r < tokens.length; r++) {
    const b = tokens[r];
    if (!b || b.length < 2) continue;
    const parts = Array.from(b, (x) => byteRank[x]);
    if (parts.includes(-1)) throw new GptuneError(`gpt2 ranks: token ${r} has a byte with no single-byte token`);
    for (;;) {
      let best = r, bi = -1;   // only tokens of lower rank than r may be used
      for (let i = 0; i + 1 < parts.length; i++) {
        const rr = concatRank(parts[i], parts[i + 1]);
        if (rr >= 0 && rr < best) { best = rr; bi = i; }
      }
      if (bi < 0) break;
      parts.splice(bi, 2, best);
    }
    if (parts.length !== 2) throw new GptuneError(`gpt2 ranks: token ${r} does not split into two lower-ranked tokens (got ${parts.length} parts)`);
    merges.push({ token: r, left: parts[0], right: parts[1] });
  }
  return merges;
}

let cachedJson: TokenizerJson | null = null;

/** GPT-2's tokenizer.json, as Hugging Face's openai-community/gpt2 lays it out. */
export function gpt2TokenizerJson(): TokenizerJson {
  if (cachedJson) return cachedJson;
  const ranks = loadRanks();
  const tokens = parseTiktokenRanks(ranks.bpe_ranks);
  const vocab: Record<string, number> = {};
  tokens.forEach((b, r) => { vocab[bytesToToken(b)] = r; });
  const eos = ranks.special_tokens[GPT2_EOS];
  if (eos !== GPT2_EOS_ID || tokens.length !== GPT2_EOS_ID) throw new GptuneError(`gpt2 ranks: expected ${GPT2_EOS_ID} tokens and ${GPT2_EOS} = ${GPT2_EOS_ID}`);
  vocab[GPT2_EOS] = eos;
  const merges = recoverMerges(tokens).map(({ left, right }): [string, string] => [bytesToToken(tokens[left]), bytesToToken(tokens[right])]);
  const added = [{ id: eos, content: GPT2_EOS, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }];
  return (cachedJson = gpt2StyleTokenizerJson(vocab, merges, added));
}

let cachedTokenizer: BpeTokenizer | null = null;

export function gpt2Tokenizer(): BpeTokenizer {
  return (cachedTokenizer ??= tokenizerFromJson(gpt2TokenizerJson(), { bosToken: GPT2_EOS, eosToken: GPT2_EOS }, 'gpt2 (built-in)'));
}

/** GPT-2's tokenizer_config.json, for saving next to the files above. */
export function gpt2TokenizerConfig(): Record<string, unknown> {
  return {
    add_bos_token: false,
    add_prefix_space: false,
    bos_token: GPT2_EOS,
    clean_up_tokenization_spaces: false,
    eos_token: GPT2_EOS,
    model_max_length: 1024,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: GPT2_EOS,
  };
}
