// Byte-level BPE works on UTF-8 bytes, but vocab.json / tokenizer.json spell each byte as a printable
// character (GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 upwards, so a space is 'Ġ'). This file holds that table, GPT-2's pre-tokenization regex, and a
// UTF-8 encoder that writes straight into the scratch array the merge loop uses.

/** GPT-2's split pattern (OpenAI encoder.py; HF ByteLevel use_regex), with \s as Oniguruma's \s. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// HF tokenizers matches it with Oniguruma, whose \s is Unicode White_Space (U+0085 yes, U+FEFF no);
// JS's \s differs on exactly those two, so the pattern is written with \p{White_Space}.
export const GPT2_REGEX_SOURCE = GPT2_PATTERN.replace(/\\s/g, '\\p{White_Space}').replace(/\\S/g, '\\P{White_Space}');

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
