// Seeded generator of varied text for tokenizer parity tests and the tokenizer bench: prose, code,
// numbers, contractions (GPT-2 splits 's but not 'S), runs of spaces/tabs/newlines, CJK, emoji with
// modifiers and ZWJ, combining marks, right-to-left and Indic scripts, astral letters, and random
// code points. U+0085 and U+FEFF are left out by default: they are the two characters whose
// whitespace-ness differs between JS's \s (js-tiktoken) and Oniguruma's \s (Hugging Face); see the
// dedicated test.
import { rng } from '../helpers/close.js';

const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'was', 'for', 'that', 'with', 'tokenizer', 'transformer', 'gradient',
  'Hello', 'World', 'GPT', 'Llama', 'NASA', 'iPhone', 'naïve', 'café', 'Zürich', 'Straße', 'résumé', 'coöperate',
  'über', 'jalapeño', 'Ελληνικά', 'русский', 'язык', 'עברית', 'العربية', 'हिन्दी', 'தமிழ்', 'ไทย', '한국어',
  '日本語', 'テキスト', 'ひらがな', '中文', '汉字', '數學', 'Tiếng', 'Việt', 'ελπίδα',
];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D", "'x", "’s", "''"];
const PUNCT = ['.', ',', '!', '?', ';', ':', '...', '—', '–', '-', '(', ')', '[', ']', '{', '}', '"', '“', '”', '«', '»', '/', '\\', '@', '#', '$', '%', '^', '&', '*', '+', '=', '<', '>', '|', '~', '`', '_', '¿', '¡', '§', '©', '°'];
const SPACES = [' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', ' \n', '\t\t', '    ', '\u00a0', '\u3000', '\u2028', '\u2003', '\v', '\f', ' \t \n'];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '❤️', '🇫🇷', '🤖', '✨', '🔥', '1️⃣', '👩🏿‍💻', '🧑‍🚀'];
const CODE = [
  'function f(x) { return x * 2; }', 'for (let i = 0; i < n; i++) {\n\tsum += a[i];\n}', 'def main():\n    print("hi")\n',
  'if (a && b || !c) return -1;', 'x = [1, 2, 3]  # comment', '#include <stdio.h>', 'SELECT * FROM t WHERE id=42;',
  '<div class="a">text</div>', 'const re = /\\s+(?!\\S)/gu;', '    return self.weight @ x.T', '"key": {"nested": [true, null]}',
];
const COMBINING = ['\u0301', '\u0308', '\u0327', '\u0303', '\u20d7', '\u0345', '\u093f', '\u0e31'];
const ASTRAL = ['𝐀', '𝒜', '𝔘', '𠀀', '𐍈', '𓀀', '🀄', '𝟘'];

/** One random string; the same seed gives the same strings. */
export function textGenerator(seed: number, { includeSpecialWhitespace = false } = {}) {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r.uniform() * a.length)];
  const int = (n: number) => Math.floor(r.uniform() * n);
  const randomCodePoint = () => {
    for (;;) {
      const ranges: [number, number][] = [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x52f], [0x590, 0x6ff], [0x900, 0xdff],
        [0x1100, 0x11ff], [0x2000, 0x2bff], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xe000, 0xe0ff],
        [0xff00, 0xffef], [0x10000, 0x1ffff], [0x0, 0x1f]];
      const [lo, hi] = pick(ranges);
      const cp = lo + int(hi - lo + 1);
      if (!includeSpecialWhitespace && (cp === 0x85 || cp === 0xfeff)) continue;
      return String.fromCodePoint(cp);
    }
  };
  const number = () => {
    const k = int(5);
    if (k === 0) return String(int(10));
    if (k === 1) return String(int(1e9));
    if (k === 2) return (r.uniform() * 1000).toFixed(int(6));
    if (k === 3) return '١٢٣٤'.slice(0, 1 + int(4));       // Arabic-Indic digits
    return String(int(100)) + ',' + String(int(1000)).padStart(3, '0');
  };
  const piece = (): string => {
    switch (int(12)) {
      case 0: case 1: case 2: return (r.uniform() < 0.8 ? ' ' : '') + pick(WORDS) + (r.uniform() < 0.2 ? pick(CONTRACTIONS) : '');
      case 3: return pick(PUNCT);
      case 4: return pick(SPACES);
      case 5: return number();
      case 6: return pick(EMOJI);
      case 7: return r.uniform() < 0.3 ? pick(CODE) : pick(CONTRACTIONS);
      case 8: return pick(WORDS) + pick(COMBINING);
      case 9: return pick(ASTRAL);
      case 10: return Array.from({ length: 1 + int(4) }, randomCodePoint).join('');
      default: return ' '.repeat(int(8)) + pick(['\n', '\t', '', ' x']);
    }
  };
  const special = includeSpecialWhitespace ? ['\u0085', '\ufeff'] : [];
  return (): string => {
    const n = 1 + int(30);
    let s = '';
    for (let i = 0; i < n; i++) s += special.length && r.uniform() < 0.05 ? pick(special) : piece();
    return s;
  };
}
