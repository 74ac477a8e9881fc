// WordPiece (BERT) and RoBERTa-style encoder inputs compared live with Hugging Face's Rust tokenizers:
// bert-base-uncased's vocab (test/fixtures/tokenizers/bert-base-uncased, see the README there) as
// tokenizer.json, as a cased variant, and as a bare vocab.txt; then pairs, token type ids, word ids and
// longest_first truncation, for BERT and for a RoBERTa processor on GPT-2's byte-level BPE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadTokenizerDir, builtinTokenizer } from '../../src/tokenizers/load.js';
import { tokenizerFromJson, type TokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { wordPieceFromJson, type WordPieceTokenizerJson } from '../../src/tokenizers/wordpiece_json.js';
import { encodeInput, encodeWordsInput, longestFirst, takesTypeIds } from '../../src/tokenizers/encode_inputs.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { compareRandomDecodes, compareWithHf, comparisonStrings, readJson } from './hf_reference.js';
import { tempDir } from '../helpers/temp_dir.js';

const require = createRequire(import.meta.url);
interface HfEnc { getIds(): number[]; getTypeIds(): number[]; getWordIds(): (number | null | undefined)[] }
interface Hf {
  encode(a: string | string[], b?: string | string[] | null, o?: { addSpecialTokens?: boolean; isPretokenized?: boolean }): Promise<HfEnc>;
  encodeBatch(t: string[], o: { addSpecialTokens: boolean }): Promise<{ getIds(): number[] }[]>;
  decodeBatch(ids: number[][], skip: boolean): Promise<string[]>;
  setTruncation(n: number): void;
}
const hf = require('@anush008/tokenizers') as { Tokenizer: { fromString(s: string): Hf } };
const hfOf = (j: unknown, maxLength?: number) => { const t = hf.Tokenizer.fromString(JSON.stringify(j)); if (maxLength) t.setTruncation(maxLength); return t; };

const DIR = join(process.cwd(), 'test/fixtures/tokenizers/bert-base-uncased');
const BERT = readJson<WordPieceTokenizerJson>(join(DIR, 'tokenizer.json'));
const CASED: WordPieceTokenizerJson = { ...BERT, normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false } };

const LONG_WORD = 'pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(3);   // 135 chars > 100
const BERT_STRINGS = [
  'Héllo Wörld! Ça va? naïve façade résumé ÅNGSTRÖM', 'ΣΊΣΥΦΟΣ σίσυφος', 'İstanbul ß ẞ ǅ', '日本語のテキスト 中文字符 한국어 ไทย', '北京abc上海123',
  'a\u0000b\u0001c\u007fd\u200be\ufffdf\u00adg\u2028h\u0085i\u000bj\u000ck', 'tab\there\r\nnewline', 'x$y+z<w=v>u^t`s|r~q', '«quotes» “curly” ‘single’ — dash … ellipsis',
  "don't won't it's I'm we've they're", `a ${LONG_WORD} b`, `${LONG_WORD.slice(0, 100)} ${LONG_WORD.slice(0, 101)}`, 'unaffable unbelievably hyperparameterization',
  '[CLS] already [SEP] inside [MASK] text [PAD][UNK]', '[cls] lowercase specials [mask]', 'emoji 🤗🙂 and 🇫🇷 flags', 'x = f(a, b) * 3.14 // comment',
];

async function hfCompare(name: string, ours: Tokenizer, j: unknown) {
  const theirs = hfOf(j);
  const bad = await compareWithHf(ours, theirs, [...BERT_STRINGS, ...comparisonStrings(['[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]'], 60)]);
  bad.push(...await compareRandomDecodes(ours, theirs, 5, 100, (r) => Math.floor(r() * ours.vocabSize)));
  assert.deepEqual(bad, [], `${name}:\n${bad.join('\n')}`);
}

test('bert-base-uncased tokenizer.json: encode and decode match HF tokenizers (accents, Chinese, control chars, long words)', async () => {
  const ours = loadTokenizerDir(DIR)!.tokenizer;
  assert.equal(ours.encode('hello').join(','), '101,7592,102');
  await hfCompare('uncased', ours, BERT);
});

test('a cased BertNormalizer (lowercase false, accents kept) matches HF tokenizers', async () => {
  await hfCompare('cased', wordPieceFromJson(CASED), CASED);
});

test('a bare vocab.txt folder gives the same ids as tokenizer.json; do_lower_case false is honoured', async () => {
  const { copyFileSync, writeFileSync } = await import('node:fs');
  const d = tempDir('vocab-');
  copyFileSync(join(DIR, 'vocab.txt'), join(d, 'vocab.txt'));
  const fromTxt = loadTokenizerDir(d)!.tokenizer;
  const fromJson = wordPieceFromJson(BERT);
  for (const s of BERT_STRINGS) {
    assert.deepEqual(encodeInput(fromTxt, s, 'pair text'), encodeInput(fromJson, s, 'pair text'), s);
    assert.equal(fromTxt.decode(fromTxt.encode(s)), fromJson.decode(fromJson.encode(s)));
  }
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
  const cased = loadTokenizerDir(d)!.tokenizer, casedJson = wordPieceFromJson(CASED);
  for (const s of BERT_STRINGS) assert.deepEqual(cased.encode(s), casedJson.encode(s), s);
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: 'yes' }));
  assert.throws(() => loadTokenizerDir(d), /tokenizer_config\.json.*do_lower_case|do_lower_case.*true or false/);
});

const PAIRS: [string, string][] = [
  ['The cat sat on the mat.', 'A cat was sitting.'], ['short', 'a much longer second sentence with many words in it, and then some more'],
  ['a long first text that keeps going on and on, with punctuation! and café', 'tiny'], ['equal length one two', 'three four five six'],
  ['日本語 text', 'Ünïcödé pair'], ['', 'empty first'],
];

async function comparePairs(name: string, ours: Tokenizer, j: unknown, lengths: (number | undefined)[] = [undefined, 7, 8, 12, 16]) {
  for (const maxLength of lengths) {
    const theirs = hfOf(j, maxLength);
    for (const [a, b] of PAIRS) {
      for (const pair of [b, null]) {
        const e = await theirs.encode(a, pair);
        const got = encodeInput(ours, a, pair, { maxLength });
        const what = `${name} ${JSON.stringify([a, pair])} maxLength ${maxLength}`;
        assert.deepEqual(got.ids, e.getIds(), `ids ${what}`);
        assert.deepEqual(got.typeIds, e.getTypeIds(), `type ids ${what}`);
        assert.deepEqual(got.wordIds, e.getWordIds().map((w) => w ?? null), `word ids ${what}`);
      }
    }
  }
}

test('BERT pairs: [CLS] a [SEP] b [SEP] with token type ids, word ids and longest_first truncation as HF', async () => {
  await comparePairs('bert', wordPieceFromJson(BERT), BERT);
  const bp = { ...BERT, post_processor: { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] } } as WordPieceTokenizerJson;
  await comparePairs('BertProcessing', wordPieceFromJson(bp), bp);
  const e = encodeInput(wordPieceFromJson(BERT), 'one two three four', 'five six', { maxLength: 6 });
  assert.equal(e.truncated, true);
  assert.equal(encodeInput(wordPieceFromJson(BERT), 'one', 'two', { maxLength: 6 }).truncated, false);
});

/** GPT-2's byte-level BPE with RoBERTa's special tokens and its <s> a </s></s> b </s> processor. */
function robertaLike(addPrefixSpace = false): TokenizerJson {
  const g = JSON.parse(builtinTokenizer('gpt2').files['tokenizer.json']) as TokenizerJson;
  const sp = (id: number, content: string) => ({ id, content, single_word: false, lstrip: content === '<mask>', rstrip: false, normalized: false, special: true });
  const bl = { type: 'ByteLevel' as const, add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true };
  return {
    ...g, added_tokens: [sp(50257, '<s>'), sp(50258, '</s>'), sp(50259, '<pad>'), sp(50260, '<mask>')], pre_tokenizer: bl,
    // As roberta-base's file spells it (without trim_offsets/add_prefix_space HF reads it as BertProcessing).
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 50258], cls: ['<s>', 50257], trim_offsets: true, add_prefix_space: addPrefixSpace } as TokenizerJson['post_processor'],
  };
}

test('RoBERTa processor: <s> a </s></s> b </s>, type ids, word ids and truncation as HF; no token_type_ids for the model', async () => {
  const j = robertaLike();
  const ours = tokenizerFromJson(j);
  await comparePairs('roberta', ours, j, [undefined, 9, 12]);
  assert.equal(takesTypeIds(ours), false);
  assert.equal(takesTypeIds(wordPieceFromJson(BERT)), true);
});

// The Node binding takes no pre-split input, so HF's is_split_into_words is rebuilt from its parts: each
// word encoded alone by HF (RoBERTa with add_prefix_space: ' ' + word), its tokens all tagged with the word.
test('pre-split words (is_split_into_words): word ids for labels on the first sub-token, BERT and RoBERTa (add_prefix_space)', async () => {
  const words = ['EU', 'rejects', 'German', 'call', 'to', 'boycott', 'British', 'lamb', '.', 'Ünïcödé', 'pneumonoultramicroscopic', 'U.S.'];
  const cases: [string, Tokenizer, unknown, string][] = [['bert', wordPieceFromJson(BERT), BERT, ''], ['roberta', tokenizerFromJson(robertaLike(true)), robertaLike(true), ' ']];
  for (const [name, ours, j, prefix] of cases) {
    const per = await hfOf(j).encodeBatch(words.map((w) => prefix + w), { addSpecialTokens: false });
    const ids = per.flatMap((e) => e.getIds()), wordIds = per.flatMap((e, i) => e.getIds().map(() => i));
    const special = ours.encode('');
    const got = encodeWordsInput(ours, words);
    assert.deepEqual(got.ids, [...special.slice(0, 1), ...ids, ...special.slice(1)], `${name} ids`);
    assert.deepEqual(got.wordIds, [null, ...wordIds, null], `${name} word ids`);
    const cut = encodeWordsInput(ours, words, null, { maxLength: 9 });
    assert.deepEqual(cut.wordIds, [null, ...wordIds.slice(0, 7), null], `${name} truncated word ids`);
    assert.equal(cut.truncated, true);
  }
});

test('longestFirst splits a budget as HF tokenizers does', () => {
  assert.deepEqual(longestFirst(3, 3, 10), [3, 3]);
  assert.deepEqual(longestFirst(5, 2, 5), [3, 2]);
  assert.deepEqual(longestFirst(2, 9, 6), [2, 4]);
  assert.deepEqual(longestFirst(4, 4, 5), [2, 3]);
  assert.deepEqual(longestFirst(9, 7, 5), [3, 2]);
});
