// Byte-level BPE works on UTF-8 bytes, but vocab.json / tokenizer.json spell each byte as a printable
// character (GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 upwards, so a space is 'Ġ'). This file holds that table, GPT-2's pre-tokenization regex, and a
// UTF-8 encoder that writes straight into the scratch array the merge loop uses.

/** GPT-2's split pattern (OpenAI encoder.py; HF ByteLevel use_regex), with \s as Oniguruma's \s. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// HF tokenizers matches it with Oniguruma, whose \s is Unicode White_Space (U+0085 yes, U+FEFF no);
// JS's \s differs on exactly those two, so the pattern is written with \p{White_Space}.
export const GPT2_REGEX_SOURCE = GPT2_PATTERN.replace(/\\s/g, '\\p{White_Space}').replace(/\\S/g, '\\P{White_Space}');

// ---- GPT-2 pre-tokenization without the regex engine ----
// The same pieces as GPT2_REGEX_SOURCE, found by a hand-written scan over character classes; several
// times faster than the regex for prose. test/tokenizers/byte_level.test.ts checks they agree.

const OTHER = 0, LETTER = 1, NUMBER = 2, SPACE = 3, UNKNOWN = 255;
const BMP_CLASS = new Uint8Array(65536).fill(UNKNOWN);
const ASTRAL_CLASS = new Map<number, number>();
const RE_L = /^\p{L}$/u, RE_N = /^\p{N}$/u, RE_WS = /^\p{White_Space}$/u;

function slowClass(cp: number): number {
  const s = String.fromCodePoint(cp);
  return RE_L.test(s) ? LETTER : RE_N.test(s) ? NUMBER : RE_WS.test(s) ? SPACE : OTHER;
}

function classOf(cp: number): number {
  if (cp < 65536) {
    const c = BMP_CLASS[cp];
    return c !== UNKNOWN ? c : (BMP_CLASS[cp] = slowClass(cp));
  }
  let c = ASTRAL_CLASS.get(cp);
  if (c === undefined) ASTRAL_CLASS.set(cp, (c = slowClass(cp)));
  return c;
}
for (let cp = 0; cp < 128; cp++) classOf(cp);

/** Appends GPT-2's pre-tokens of text to out (what matching GPT2_REGEX_SOURCE globally gives). */
export function splitGpt2(text: string, out: string[]): void {
  scanGpt2(text, (a, b) => { out.push(text.slice(a, b)); });
}

/** Calls emit(start, end) for each of GPT-2's pre-tokens of text, in order. */
export function scanGpt2(text: string, emit: (start: number, end: number) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    // 's 't 're 've 'm 'll 'd (lower case only), tried first.
    if (c === 39 && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d === 115 || d === 116 || d === 109 || d === 100) { emit(i, i + 2); i += 2; continue; }
      if (i + 2 < n) {
        const e = text.charCodeAt(i + 2);
        if ((e === 101 && (d === 114 || d === 118)) || (d === 108 && e === 108)) { emit(i, i + 3); i += 3; continue; }
      }
    }
    // " ?X+" for X = letters, numbers, or anything else but whitespace.
    let j = i;
    let cls = classOf(text.codePointAt(i)!);
    if (c === 32 && i + 1 < n) {
      const next = classOf(text.codePointAt(i + 1)!);
      if (next !== SPACE) { j = i + 1; cls = next; }
    }
    if (cls !== SPACE) {
      let k = j;
      while (k < n) {
        const cp = text.codePointAt(k)!;
        if (classOf(cp) !== cls) break;
        k += cp > 0xffff ? 2 : 1;
      }
      emit(i, k);
      i = k;
      continue;
    }
    // Whitespace: "\s+(?!\S)" leaves the last one for the next piece when a non-space follows; else "\s+".
    let k = i + 1;
    while (k < n && classOf(text.charCodeAt(k)) === SPACE) k++;   // every White_Space character is in the BMP
    if (k < n && k - i >= 2) k--;
    emit(i, k);
    i = k;
  }
}

/** byte -> its character in the vocab's alphabet. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return table;
})();

/** character -> byte, the inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

// The same inverse as an array over char codes (the table's characters are all below U+0144).
const CODE_TO_BYTE = new Int16Array(0x144).fill(-1);
BYTE_TO_CHAR.forEach((c, b) => { CODE_TO_BYTE[c.charCodeAt(0)] = b; });

/** A vocab token string -> its bytes. As in HF's ByteLevel decoder, a token with a character outside the table is taken as plain UTF-8. */
export function tokenToBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < 0x144 ? CODE_TO_BYTE[c] : -1;
    if (b < 0) return new TextEncoder().encode(token);
    out[i] = b;
  }
  return out;
}

/** Bytes -> the vocab's spelling of them. */
export function bytesToToken(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/**
 * Writes the UTF-8 bytes of s into out (growing it when needed) and returns [array, length].
 * Lone surrogates become U+FFFD, as TextEncoder does.
 */
export function utf8Into(s: string, out: Int32Array): [Int32Array, number] {
  if (out.length < s.length * 3) out = new Int32Array(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) { out[n++] = c; continue; }
    if (c < 0x800) { out[n++] = 0xc0 | (c >> 6); out[n++] = 0x80 | (c & 63); continue; }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[n++] = 0xf0 | (cp >> 18); out[n++] = 0x80 | ((cp >> 12) & 63);
        out[n++] = 0x80 | ((cp >> 6) & 63); out[n++] = 0x80 | (cp & 63);
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63);
  }
  return [out, n];
}
