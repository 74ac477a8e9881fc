// The byte-level alphabet and the hand-written GPT-2 pre-tokenizer, checked against the regex it replaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTE_TO_CHAR, GPT2_REGEX_SOURCE, bytesToToken, splitGpt2, tokenToBytes, utf8Into } from '../../src/tokenizers/byte_level.js';
import { textGenerator } from './text_gen.js';

test('bytes_to_unicode: printable bytes map to themselves, space is Ġ, newline Ċ, a bijection', () => {
  assert.equal(BYTE_TO_CHAR[0x41], 'A');
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_TO_CHAR[0xe9], 'é');
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(tokenToBytes(bytesToToken(all)), all);
  assert.deepEqual(tokenToBytes('<|x|>'), new TextEncoder().encode('<|x|>'));
  assert.deepEqual(tokenToBytes('a\nb'), new TextEncoder().encode('a\nb'), 'a character outside the table: plain UTF-8');
});

test('utf8Into matches TextEncoder, lone surrogates included', () => {
  const gen = textGenerator(4, { includeSpecialWhitespace: true });
  for (let i = 0; i < 500; i++) {
    const s = i === 0 ? 'a\ud800b\udc00\ud83d' : gen();
    const [buf, n] = utf8Into(s, new Int32Array(1));
    assert.deepEqual(Uint8Array.from(buf.subarray(0, n)), new TextEncoder().encode(s), JSON.stringify(s));
  }
});

test('splitGpt2 gives exactly the pieces of the GPT-2 regex', () => {
  const re = new RegExp(GPT2_REGEX_SOURCE, 'gu');
  const gen = textGenerator(8, { includeSpecialWhitespace: true });
  const extra = ["it's 're 've 'll 'd 'm 't ''s 'S", '   x  \n\n y \t', ' ', '  ', 'a ', ' \u0085x', '\ufeff x', 'x\ud800 y', '𝐀𝐁 12 𝟘', "'", "'r", 'a\u2028\u2029 b'];
  for (let i = 0; i < 3000; i++) {
    const s = i < extra.length ? extra[i] : gen();
    const ours: string[] = [];
    splitGpt2(s, ours);
    assert.deepEqual(ours, [...s.matchAll(re)].map((m) => m[0]), JSON.stringify(s));
  }
});
