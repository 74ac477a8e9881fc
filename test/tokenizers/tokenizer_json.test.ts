// tokenizer.json loading: ids and decoded text equal Hugging Face tokenizers' on ten variants (GPT-2,
// both merges spellings, Llama 3, Qwen2, possessive/o200k patterns, chained Splits, every Split
// behavior, added-token strip rules), post-processor templates, and refusals that name what is unsupported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gpt2TokenizerJson } from '../../src/tokenizers/gpt2.js';
import { tokenizerFromJson, type TokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { loadVocabMerges, readMergesTxt } from '../../src/tokenizers/vocab_merges.js';
import { GptuneError } from '../../src/util/errors.js';
import { tokenizerVariants } from './variants.js';
import { tempDir } from '../helpers/temp_dir.js';

interface HfIds { strings: string[]; ids: Record<string, number[][]>; decoded: Record<string, Record<string, string>> }
const HF: HfIds = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/tokenizers/hf_ids.json'), 'utf8'));
const variants = tokenizerVariants(gpt2TokenizerJson());

test('every variant gives Hugging Face tokenizers\' ids and decoded text on the fixture strings', () => {
  assert.equal(Object.keys(HF.ids).length, Object.keys(variants).length);
  for (const [name, json] of Object.entries(variants)) {
    const tok = tokenizerFromJson(json, {}, name);
    const want = HF.ids[name];
    assert.ok(want, `fixture has no ids for ${name}`);
    HF.strings.forEach((s, i) => {
      const got = tok.encode(s);
      if (JSON.stringify(got) !== JSON.stringify(want[i])) {
        const show = (ids: number[]) => JSON.stringify(ids.map((id) => tok.idToToken(id)));
        assert.fail(`${name}: ${JSON.stringify(s)}\n  ours ${show(got)}\n  HF   ${show(want[i])}`);
      }
      assert.equal(tok.decode(want[i]), HF.decoded[name][i] ?? s, `${name}: decode of ${JSON.stringify(s)}`);
    });
  }
});

test('Llama 3 style: BOS from the template, ignore_merges, special tokens and their options', () => {
  const tok = tokenizerFromJson(variants.llama3);
  assert.equal(tok.bosId, 50257);
  assert.equal(tok.eosId, null);
  assert.equal(tok.vocabSize, 50260);
  const ids = tok.encode('Hello world');
  assert.equal(ids[0], 50257);
  assert.deepEqual(tok.encode('Hello world', { addSpecialTokens: false }), ids.slice(1));
  assert.equal(tok.decode(ids), '<|begin_of_text|>Hello world');
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'Hello world');
  assert.deepEqual(tok.encode('a<|eot_id|>', { addSpecialTokens: false }).slice(-1), [50259]);
  assert.ok(!tok.encode('a<|eot_id|>', { addSpecialTokens: false, parseSpecialTokens: false }).includes(50259));
  // tokenizer_config.json's add_bos_token/add_eos_token, when given, decide instead of the template.
  const noBos = tokenizerFromJson(variants.llama3, { addBosToken: false });
  assert.deepEqual(noBos.encode('Hello world'), ids.slice(1));
  const both = tokenizerFromJson(variants.llama3, { bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>', addBosToken: true, addEosToken: true });
  assert.deepEqual(both.encode('Hello world'), [...ids, 50259]);
  assert.equal(both.eosId, 50259);
  assert.throws(() => tokenizerFromJson(variants.llama3, { addEosToken: true }), /'eos_token': add_eos_token is set but there is no eos_token/);
  assert.throws(() => tokenizerFromJson(variants.llama3, { padToken: '<pad>' }), /'pad_token': special token '<pad>' is neither an added token nor in the vocab/);
});

test('GPT-2 merges given as "a b" strings and as [a, b] pairs load the same', () => {
  const a = tokenizerFromJson(variants.gpt2), b = tokenizerFromJson(variants.gpt2_merge_pairs);
  for (const s of HF.strings) assert.deepEqual(a.encode(s), b.encode(s));
});

function refused(j: unknown, pattern: RegExp) {
  assert.throws(() => tokenizerFromJson(j as TokenizerJson, {}, 'tokenizer.json'), (e: unknown) => {
    assert.ok(e instanceof GptuneError, String(e));
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith('tokenizer.json: '), e.message);
    return true;
  });
}

test('unsupported or broken tokenizer.json parts are refused by name', () => {
  const g = variants.gpt2;
  refused({ ...g, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }] } }, /pre_tokenizer\.pretokenizers\[0\] type 'Whitespace' is not supported/);
  refused({ ...g, model: { type: 'WordPiece', vocab: {} } }, /model type 'WordPiece' is not supported/);
  refused({ ...g, model: { type: 'Unigram', vocab: [] } }, /model type 'Unigram' is not supported/);
  refused({ ...g, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'sometimes' } }, /'pre_tokenizer': Metaspace prepend_scheme "sometimes" is not one of first, always, never/);
  refused({ ...g, pre_tokenizer: { type: 'Metaspace', replacement: '▁▁' } }, /'pre_tokenizer': Metaspace replacement must be one character, got "▁▁"/);
  refused({ ...g, decoder: { type: 'Strip', content: ' ', start: -1, stop: 0 } }, /'decoder': Strip start must be a non-negative integer, got the integer -1/);
  refused({ ...g, decoder: { type: 'CTC' } }, /decoder type 'CTC' is not supported/);
  refused({ ...g, normalizer: { type: 'Prepend' } }, /'normalizer': prepend must be a string, got nothing/);
  refused({ ...g, normalizer: { type: 'Precompiled', precompiled_charsmap: '' } }, /normalizer type 'Precompiled' is not supported/);
  refused({ ...g, decoder: null }, /'decoder': is null; byte-level BPE needs a ByteLevel decoder/);
  refused({ ...g, post_processor: { type: 'Whatever' } }, /post_processor type 'Whatever' is not supported/);
  refused({ ...g, pre_tokenizer: { type: 'Sequence', pretokenizers: [g.pre_tokenizer, { type: 'Digits' }] } }, /ByteLevel must be the last step/);
  refused({ ...g, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '[a&&b]' }, behavior: 'Isolated' }, g.pre_tokenizer] } },
    /'pre_tokenizer\.pretokenizers\[0\]': pattern "\[a&&b\]": class intersection/);
  refused({ ...g, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: 'a' }, behavior: 'Sideways' }, g.pre_tokenizer] } }, /Split behavior "Sideways" is not one of/);
  const small = { ...g.model, vocab: { 'Ġ': 0, t: 1, 'Ġt': 2, x: 3, q: 4 }, merges: ['Ġ t'] };
  refused({ ...g, model: { ...small, merges: ['Ġ t', 'a b c'] } }, /'model\.merges\[1\]': expected "left right", got "a b c"/);
  refused({ ...g, model: { ...small, merges: ['Ġ t', 'Ġ zzz'] } }, /'model\.merges\[1\]': merge "Ġ zzz": 'zzz' is not in the vocab/);
  refused({ ...g, model: { ...small, merges: ['Ġ t', 'x q'] } }, /'model\.merges\[1\]': merge "x q": the merged token 'xq' is not in the vocab/);
  refused({ ...g, model: { ...g.model, vocab: [] } }, /'model\.vocab': expected an object of token -> id, got an array of 0/);
  refused({ ...g, model: small, post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>' } }], special_tokens: {} } }, /template token '<s>' is missing from special_tokens/);
});

test('vocab.json + merges.txt: #version line skipped, a bad line named by number', () => {
  const dir = tempDir('vm-');
  const vocab = { a: 0, b: 1, c: 2, 'Ġ': 3, ab: 4, abc: 5, '<|endoftext|>': 6 };
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\na b\nab c\n');
  const tok = loadVocabMerges(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
  assert.deepEqual(tok.encode('abc ab<|endoftext|>'), [5, 3, 4, 6]);
  assert.equal(tok.eosId, 6);
  assert.equal(tok.decode([5, 3, 4, 6], { skipSpecialTokens: true }), 'abc ab');
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\na b\nabc\n');
  assert.throws(() => readMergesTxt(join(dir, 'merges.txt')), /merges\.txt:3: expected "left right", got "abc"/);
  writeFileSync(join(dir, 'vocab.json'), '{"a": "zero"}');
  assert.throws(() => loadVocabMerges(join(dir, 'vocab.json'), join(dir, 'merges.txt')), /vocab\.json: 'a': id must be a non-negative integer, got the string "zero"/);
});
