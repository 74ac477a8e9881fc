// Oniguruma -> JS regex translation. Each expectation below was checked against Hugging Face
// tokenizers (which runs Oniguruma) with a Split pre-tokenizer; see test/fixtures/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegexTranslationError, translateOnigurumaRegex } from '../../src/tokenizers/onig_regex.js';
import { splitBy } from '../../src/tokenizers/pretokenize.js';
import { LLAMA3_PATTERN, QWEN2_PATTERN } from './variants.js';

const matches = (pattern: string, text: string) => [...text.matchAll(new RegExp(translateOnigurumaRegex(pattern), 'gu'))].map((m) => m[0]);
const isolated = (pattern: string, text: string) => {
  const out: string[] = [];
  splitBy(new RegExp(translateOnigurumaRegex(pattern), 'gu'), text, 'Isolated', false, out);
  return out;
};

test('Llama 3 split: numbers in groups of 1-3, contractions case-insensitive, newlines apart', () => {
  assert.deepEqual(isolated(LLAMA3_PATTERN, '1234567'), ['123', '456', '7']);
  assert.deepEqual(isolated(LLAMA3_PATTERN, "I'M HERE, WE'LL"), ['I', "'M", ' HERE', ',', ' WE', "'LL"]);
  assert.deepEqual(isolated(LLAMA3_PATTERN, "it's'ſ"), ['it', "'s", "'ſ"]);   // U+017F folds to s, as in Oniguruma
  assert.deepEqual(isolated(LLAMA3_PATTERN, "it's 'ſ"), ['it', "'s", " '", 'ſ']);
  assert.deepEqual(isolated(LLAMA3_PATTERN, 'a\n\n  b'), ['a', '\n\n', ' ', ' b']);
  assert.deepEqual(isolated(LLAMA3_PATTERN, '$12.5!!\r\n'), ['$', '12', '.', '5', '!!\r\n']);
  // Qwen2: single digits.
  assert.deepEqual(isolated(QWEN2_PATTERN, 'x=123'), ['x', '=', '1', '2', '3']);
});

test('\\s is Unicode White_Space (U+0085 yes, U+FEFF no), as in Oniguruma', () => {
  assert.deepEqual(matches('\\s', 'a\u0085b\ufeffc d'), ['\u0085', ' ']);
  assert.deepEqual(matches('[^\\s]+', 'a\u0085b\ufeffc d'), ['a', 'b\ufeffc', 'd']);
  assert.deepEqual(matches('\\S+', 'a\u0085b'), ['a', 'b']);
});

test('case-insensitive groups and inline options', () => {
  assert.deepEqual(matches('(?i:k)', 'kK\u212a'), ['k', 'K', '\u212a']);   // KELVIN SIGN
  assert.deepEqual(matches('(?i:s)', 'sSſ'), ['s', 'S', 'ſ']);
  assert.deepEqual(matches('(?i)ab', 'ABab aB'), ['AB', 'ab', 'aB']);
  assert.deepEqual(matches('(?i:[a-c]+)', 'abcABC'), ['abcABC']);
  assert.deepEqual(matches('[a-c]+', 'abcABC'), ['abc']);
  assert.deepEqual(matches("x(?i:'s)|'t", "x'S 'T 't"), ["x'S", "'t"]);   // the option ends with its group
});

test('possessive quantifiers and atomic groups never give back; an interval followed by + repeats it', () => {
  assert.deepEqual(matches('a*+a', 'aaaa'), []);
  assert.deepEqual(matches('a*a', 'aaaa'), ['aaaa']);
  assert.deepEqual(matches('x?+x', 'x'), []);
  assert.deepEqual(matches('(?>a+)a', 'aaa'), []);
  assert.deepEqual(matches('[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+', '!!hello'), ['!hello']);
  assert.deepEqual(matches('\\p{N}{1,3}+', '1234567'), ['1234567']);
  assert.deepEqual(matches('\\p{N}{1,3}', '1234567'), ['123', '456', '7']);
  assert.deepEqual(isolated('a{,2}', 'aaaaa'), ['aa', 'aa', 'a']);
});

test('anchors and dot follow Oniguruma: ^ $ at \\n only, . is anything but \\n, \\A \\z \\Z', () => {
  assert.deepEqual(isolated('^a', 'a\na\r\na'), ['a', '\n', 'a', '\r\n', 'a']);
  assert.deepEqual(isolated('a$', 'a\na\r\na'), ['a', '\na\r\n', 'a']);
  assert.deepEqual(matches('.', 'a\nb\rc\u2028d'), ['a', 'b', '\r', 'c', '\u2028', 'd']);
  assert.deepEqual(matches('\\A.', 'ab\ncd'), ['a']);
  assert.deepEqual(matches('.\\z', 'ab\ncd'), ['d']);
  assert.deepEqual(matches('.\\Z', 'ab\ncd\n'), ['d']);
});

test('shorthands: \\h is a hex digit, \\d and \\w and \\b are Unicode, \\p{Han} is a script', () => {
  assert.deepEqual(matches('\\h+', 'ffg12'), ['ff', '12']);
  assert.deepEqual(matches('\\d', '1١x'), ['1', '١']);
  assert.deepEqual(matches('\\w+', 'a_b-c'), ['a_b', 'c']);
  assert.deepEqual(matches('\\bx', 'x ax éx'), ['x']);
  assert.deepEqual(matches('\\p{Han}+', 'ab中文c'), ['中文']);
  assert.deepEqual(matches('\\p{^L}+', 'ab12c'), ['12']);
  assert.deepEqual(matches('\\P{L}+', 'ab12c'), ['12']);
  assert.deepEqual(matches('\\x{41}', 'ABA'), ['A', 'A']);
  assert.deepEqual(matches("'|\\.|\\-|a\\{", "'.-a{"), ["'", '.', '-', 'a{']);   // escapes JS's u flag would reject
  assert.deepEqual(matches('[一-龥]+', 'x中文y'), ['中文']);
});

test('empty matches cut the text as in HF (checked with HF tokenizers)', () => {
  assert.deepEqual(isolated('x*', 'abxxc'), ['a', 'b', 'xx', 'c']);
  assert.deepEqual(isolated('(?=b)', 'abab'), ['a', 'ba', 'b']);
  assert.deepEqual(isolated('\\s*', 'a b  c'), ['a', ' ', 'b', '  ', 'c']);
});

test('constructs without a faithful translation are refused by name', () => {
  const refused = (p: string, re: RegExp) => assert.throws(() => translateOnigurumaRegex(p), (e: unknown) => e instanceof RegexTranslationError && re.test(e.message));
  refused('[a[b]]', /nested character class/);
  refused('[a-z&&[^aeiou]]', /class intersection/);
  refused('(?~abc)', /group "\(\?~a" is not supported/);
  refused('a\\Kb', /escape \\K is not supported/);
  refused('(a)\\1', /escape \\1 is not supported/);
  refused('\\p{NotAProperty}', /unknown Unicode property/);
  refused('(ab', /expected '\)'/);
  refused('ab)', /unbalanced '\)'/);
  refused('*a', /nothing to repeat/);
});
