// The built-in GPT-2 tokenizer: same ids as js-tiktoken's gpt2 encoding on thousands of varied
// strings, exact round trips, streaming decode, the recovered merges, and saving in HF's file formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT2_EOS_ID, gpt2Tokenizer, gpt2TokenizerJson } from '../../src/tokenizers/gpt2.js';
import { HEAP_THRESHOLD } from '../../src/tokenizers/bpe.js';
import { loadTokenizerJson, stringifyTokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { loadVocabMerges, saveVocabMerges } from '../../src/tokenizers/vocab_merges.js';
import { textGenerator } from './text_gen.js';
import { TARGETED_STRINGS } from './variants.js';
import { tempDir } from '../helpers/temp_dir.js';

interface Tiktoken { encode(text: string, allowedSpecial?: 'all' | string[]): number[]; decode(ids: number[]): string }
const require = createRequire(import.meta.url);
let tiktokenGpt2: Tiktoken | null = null;
const tiktoken = (): Tiktoken => {
  const { Tiktoken } = require('js-tiktoken/lite');
  return (tiktokenGpt2 ??= new Tiktoken(require('js-tiktoken/ranks/gpt2')));
};

const tok = gpt2Tokenizer();

test('GPT-2 ids equal js-tiktoken gpt2 on 3000 generated strings and the targeted ones; decode(encode(x)) == x', () => {
  const tt = tiktoken();
  const gen = textGenerator(1);
  const strings = [...TARGETED_STRINGS.filter((s) => !/[\u0085\ufeff]/.test(s)), ...Array.from({ length: 3000 }, gen)];
  let chars = 0;
  for (const s of strings) {
    const ours = tok.encode(s);
    assert.deepEqual(ours, tt.encode(s, 'all'), `ids differ for ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ours), s, `round trip of ${JSON.stringify(s)}`);
    chars += s.length;
  }
  assert.ok(chars > 100_000, `only ${chars} characters tested`);
});

test('GPT-2 basics: known ids, the end-of-text token, contractions and vocab lookups', () => {
  assert.equal(tok.vocabSize, 50257);
  assert.equal(tok.eosId, GPT2_EOS_ID);
  assert.equal(tok.bosId, GPT2_EOS_ID);
  assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  assert.deepEqual(tok.encode('<|endoftext|>'), [50256]);
  assert.ok(tok.encode('<|endoftext|>', { parseSpecialTokens: false }).length > 1);
  assert.equal(tok.decode([15496, 50256, 995], { skipSpecialTokens: true }), 'Hello world');
  assert.equal(tok.idToToken(995), 'Ġworld');
  assert.equal(tok.tokenToId('Ġworld'), 995);
  assert.ok(tok.isSpecial(50256) && !tok.isSpecial(995));
  // GPT-2's regex splits lower-case contractions only.
  assert.deepEqual(tok.encode("it's").map((i) => tok.idToToken(i)), ['it', "'s"]);
  assert.deepEqual(tok.encode("IT'S").map((i) => tok.idToToken(i)), ['IT', "'", 'S']);
  assert.equal(tok.decode([99999, 15496]), 'Hello', 'ids without a token are skipped, as HF does');
});

test('U+0085 and U+FEFF follow Hugging Face (Oniguruma \\s), where js-tiktoken (JS \\s) differs', () => {
  const tt = tiktoken();
  // U+0085 is whitespace in Oniguruma, so ' ' stays alone before it (\s+(?!\S)); JS's \s lets ' ' join it.
  const names = (ids: number[]) => ids.map((i) => tok.idToToken(i));
  assert.deepEqual(names(tok.encode('a \u0085b')), ['a', 'Ġ', 'Â', 'ħ', 'b']);
  assert.deepEqual(names(tt.encode('a \u0085b')), ['a', 'ĠÂ', 'ħ', 'b']);
  // U+FEFF is not whitespace in Oniguruma, so ' ' joins it; JS's \s keeps ' ' alone.
  assert.deepEqual(names(tok.encode('x \ufeffy')), ['x', 'Ġï', '»', '¿', 'y']);
  assert.deepEqual(names(tt.encode('x \ufeffy')), ['x', 'Ġ', 'ï', '»', '¿', 'y']);
  assert.equal(tok.decode(tok.encode('x\u0085 \ufeffy')), 'x\u0085 \ufeffy');
  // The HF ids for such strings are checked in tokenizer_json.test.ts (fixture from HF tokenizers).
});

test('the merge loop: heap (long words) and scan (short words) agree, on long words too', () => {
  const tt = tiktoken();
  const long = ['a'.repeat(1000), ' '.repeat(777) + 'x', 'ab'.repeat(300), '\n'.repeat(200), 'x'.repeat(60) + '😀'.repeat(40),
    'Supercalifragilisticexpialidocious'.repeat(5), '1234567890'.repeat(20), '='.repeat(100)];
  const gen = textGenerator(5);
  const strings = [...long, ...Array.from({ length: 300 }, gen)];
  const want = strings.map((s) => tt.encode(s));
  const saved = HEAP_THRESHOLD.bytes;
  try {
    for (const threshold of [0, 1e9]) {
      HEAP_THRESHOLD.bytes = threshold;
      tok.model.clearCache();
      strings.forEach((s, i) => assert.deepEqual(tok.encode(s), want[i], `threshold ${threshold}: ${JSON.stringify(s.slice(0, 40))}`));
    }
  } finally {
    HEAP_THRESHOLD.bytes = saved;
  }
});

test('the streaming decoder holds back partial UTF-8 characters and adds up to decode()', () => {
  const gen = textGenerator(9);
  let sawHeldBack = false;
  for (let k = 0; k < 300; k++) {
    const s = k === 0 ? '😀👨‍👩‍👧 日本語 e\u0301' : gen();
    const ids = tok.encode(s);
    const dec = tok.decodeStream();
    let text = '';
    for (const id of ids) {
      const chunk = dec.push(id);
      if (chunk === '') sawHeldBack = true;
      assert.ok(!chunk.includes('\ufffd') || s.includes('\ufffd'), `a chunk split a character in ${JSON.stringify(s)}`);
      text += chunk;
    }
    text += dec.flush();
    assert.equal(text, s);
  }
  assert.ok(sawHeldBack, 'some token ended inside a character');
  // An incomplete character at the very end becomes U+FFFD on flush, as decode() gives.
  const ids = tok.encode('😀');
  const dec = tok.decodeStream();
  assert.equal(dec.push(ids[0]), '');
  assert.equal(dec.flush(), tok.decode([ids[0]]));
  const skip = tok.decodeStream({ skipSpecialTokens: true });
  assert.equal(skip.push(50256) + skip.push(15496), 'Hello');
});

test('recovered merges start like GPT-2 merges.txt, one per multi-byte token', () => {
  const j = gpt2TokenizerJson();
  assert.equal(j.model.merges.length, 50000);
  assert.deepEqual(j.model.merges.slice(0, 6), ['Ġ t', 'Ġ a', 'h e', 'i n', 'r e', 'o n']);
  assert.equal(j.model.vocab['Ġthe'], 262);
  assert.equal(j.model.merges[262 - 256], 'Ġt he');
});

test('saved as tokenizer.json and as vocab.json + merges.txt, GPT-2 reloads with the same ids', () => {
  const dir = tempDir('tok-');
  writeFileSync(join(dir, 'tokenizer.json'), stringifyTokenizerJson(gpt2TokenizerJson()));
  saveVocabMerges(dir, gpt2TokenizerJson());
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8');
  assert.ok(merges.startsWith('#version: 0.2\nĠ t\nĠ a\n'));
  assert.equal(merges.split('\n').length, 50002);
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8'));
  assert.equal(Object.keys(vocab).length, 50257);
  assert.equal(vocab['<|endoftext|>'], 50256);
  const a = loadTokenizerJson(join(dir, 'tokenizer.json'));
  const b = loadVocabMerges(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
  assert.equal(b.eosId, 50256);
  const gen = textGenerator(3);
  for (let i = 0; i < 200; i++) {
    const s = i === 0 ? 'x<|endoftext|>y' : gen();
    const want = tok.encode(s);
    assert.deepEqual(a.encode(s), want);
    assert.deepEqual(b.encode(s), want);
  }
});
