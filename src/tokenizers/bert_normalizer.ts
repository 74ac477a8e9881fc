// BERT's text rules as Hugging Face tokenizers runs them: the BertNormalizer (clean_text, Chinese
// characters spaced out, accents stripped, lowercase) and the BertPreTokenizer (split on whitespace,
// each punctuation character its own pre-token).

export interface BertNormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** null follows lowercase, as in HF. */
  stripAccents: boolean | null;
  lowercase: boolean;
}

// HF's is_control: \t \n \r count as whitespace; Cc Cf Cs Co are dropped (its unicode_categories
// crate's is_other leaves unassigned Cn characters in).
const OTHER = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const WHITESPACE = /\p{White_Space}/u;
const NONSPACING_MARK = /\p{Mn}/gu;

/** The CJK blocks BERT puts spaces around (its is_chinese_char table). */
export function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df)
    || (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

export function bertNormalize(o: BertNormalizerOptions, text: string): string {
  let s = text;
  if (o.cleanText || o.handleChineseChars) {
    let out = '';
    for (const c of s) {
      const cp = c.codePointAt(0)!;
      if (o.cleanText) {
        if (c === '\t' || c === '\n' || c === '\r') { out += ' '; continue; }
        if (cp === 0 || cp === 0xfffd || OTHER.test(c)) continue;
        if (WHITESPACE.test(c)) { out += ' '; continue; }
      }
      out += o.handleChineseChars && isChineseChar(cp) ? ` ${c} ` : c;
    }
    s = out;
  }
  if (o.stripAccents ?? o.lowercase) s = s.normalize('NFD').replace(NONSPACING_MARK, '');
  // Per character, as Rust's char::to_lowercase: no final-sigma rule (JS's toLowerCase on a string has one).
  if (o.lowercase) {
    let out = '';
    for (const c of s) out += c.toLowerCase();
    s = out;
  }
  return s;
}

// Rust's is_ascii_punctuation (which includes $ + < = > ^ ` | ~) or Unicode punctuation (P*).
const PUNCT = /[!-/:-@[-`{-~]|\p{P}/u;

/** BertPreTokenizer: whitespace removed, every punctuation character isolated. Appends to out. */
export function bertPreTokenize(text: string, out: string[]): void {
  let word = '';
  for (const c of text) {
    if (WHITESPACE.test(c)) {
      if (word) { out.push(word); word = ''; }
    } else if (PUNCT.test(c)) {
      if (word) { out.push(word); word = ''; }
      out.push(c);
    } else {
      word += c;
    }
  }
  if (word) out.push(word);
}
