// The text side of a tokenizer before BPE: normalizers (Unicode forms, lowercase) and pre-tokenizers
// (Split by a regex, Digits, ByteLevel), applied in order to turn a text segment into pre-tokens.
import { splitGpt2 } from './byte_level.js';

export type Normalizer =
  | { type: 'unicode'; form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD' }
  | { type: 'lowercase' }
  | { type: 'replace'; pattern: RegExp; content: string };

export function normalize(steps: readonly Normalizer[], s: string): string {
  for (const n of steps) {
    if (n.type === 'unicode') s = s.normalize(n.form);
    else if (n.type === 'lowercase') s = s.toLowerCase();
    else s = s.replace(n.pattern, n.content);
  }
  return s;
}

/** HF's SplitDelimiterBehavior: what happens to the text a Split pattern matches. */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

export type PreTokenizerStep =
  | { type: 'split'; regex: RegExp; behavior: SplitBehavior; invert: boolean }
  | { type: 'digits'; individualDigits: boolean }
  | { type: 'byteLevel'; addPrefixSpace: boolean; useRegex: boolean };

const DIGITS = /\p{N}+/gu;
const DIGIT = /\p{N}/gu;

/** Splits one text segment into pre-tokens, appending them to out. */
export function preTokenize(steps: readonly PreTokenizerStep[], text: string, out: string[]): void {
  // Fast path for the common single step (GPT-2: ByteLevel with its regex).
  if (steps.length === 1 && steps[0].type === 'byteLevel') {
    byteLevel(steps[0], text, out);
    return;
  }
  let pieces = [text];
  for (const step of steps) {
    const next: string[] = [];
    for (const p of pieces) {
      if (step.type === 'byteLevel') byteLevel(step, p, next);
      else if (step.type === 'digits') splitBy(step.individualDigits ? DIGIT : DIGITS, p, step.individualDigits ? 'Isolated' : 'Contiguous', false, next);
      else splitBy(step.regex, p, step.behavior, step.invert, next);
    }
    pieces = next;
  }
  for (const p of pieces) out.push(p);
}

function byteLevel(step: { addPrefixSpace: boolean; useRegex: boolean }, text: string, out: string[]): void {
  if (step.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
  if (!step.useRegex) {
    if (text) out.push(text);
    return;
  }
  splitGpt2(text, out);
}

/** HF's NormalizedString::split: matches and the text between them, combined per behavior; empty pieces dropped. */
export function splitBy(regex: RegExp, text: string, behavior: SplitBehavior, invert: boolean, out: string[]): void {
  if (behavior === 'Isolated') {
    // The common case (Llama 3, Qwen2): every match and every gap is its own piece.
    let prev = 0;
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      const s = m.index, e = s + m[0].length;
      if (e === s) {
        // An empty match still cuts the text (HF keeps it as an empty span); step one character, as matchAll does.
        if (s > prev) { out.push(text.slice(prev, s)); prev = s; }
        regex.lastIndex = e + ((text.codePointAt(e) ?? 0) > 0xffff ? 2 : 1);
        continue;
      }
      if (s > prev) out.push(text.slice(prev, s));
      out.push(m[0]);
      prev = e;
    }
    if (prev < text.length) out.push(text.slice(prev));
    return;
  }
  // spans: [start, end, isMatch] covering the text in order.
  const spans: [number, number, boolean][] = [];
  let prev = 0;
  regex.lastIndex = 0;
  for (const m of text.matchAll(regex)) {
    const s = m.index!, e = s + m[0].length;
    if (s > prev) spans.push([prev, s, invert]);
    spans.push([s, e, !invert]);
    prev = e;
  }
  if (prev < text.length) spans.push([prev, text.length, invert]);

  const pieces: [number, number][] = [];
  switch (behavior) {
    case 'Removed':
      for (const [s, e, isMatch] of spans) if (!isMatch) pieces.push([s, e]);
      break;
    case 'MergedWithPrevious': {
      let prevMatch = false;
      for (const [s, e, isMatch] of spans) {
        if (isMatch && !prevMatch && pieces.length) pieces[pieces.length - 1][1] = e;
        else pieces.push([s, e]);
        prevMatch = isMatch;
      }
      break;
    }
    case 'MergedWithNext': {
      let prevMatch = false;
      for (const [s, e, isMatch] of spans) {
        if (prevMatch && !isMatch && pieces.length) pieces[pieces.length - 1][1] = e;
        else pieces.push([s, e]);
        prevMatch = isMatch;
      }
      break;
    }
    case 'Contiguous': {
      let prevMatch = false;
      for (const [s, e, isMatch] of spans) {
        if (isMatch && prevMatch && pieces.length) pieces[pieces.length - 1][1] = e;
        else pieces.push([s, e]);
        prevMatch = isMatch;
      }
      break;
    }
  }
  for (const [s, e] of pieces) if (e > s) out.push(text.slice(s, e));
}
