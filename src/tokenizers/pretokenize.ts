// The pre-tokenizers of tokenizer.json (Split by a regex, Digits, ByteLevel, Metaspace), applied in
// order to turn one normalized text segment into the pre-tokens the BPE model merges.
import { splitGpt2 } from './byte_level.js';

/** HF's SplitDelimiterBehavior: what happens to the text a Split pattern matches. */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

export type PreTokenizerStep =
  | { type: 'split'; regex: RegExp; behavior: SplitBehavior; invert: boolean }
  | { type: 'digits'; individualDigits: boolean }
  | { type: 'byteLevel'; addPrefixSpace: boolean; useRegex: boolean }
  | { type: 'metaspace'; replacement: string; prependScheme: PrependScheme; split: boolean };

/** Metaspace's prepend_scheme: put the replacement before every segment, only the text's first, or never. */
export type PrependScheme = 'always' | 'first' | 'never';

const DIGITS = /\p{N}+/gu;
const DIGIT = /\p{N}/gu;

/**
 * Splits one text segment into pre-tokens, appending them to out. atStart: the segment begins the
 * whole input (HF's offsets_original().0 == 0), which Metaspace's prepend_scheme 'first' asks.
 */
export function preTokenize(steps: readonly PreTokenizerStep[], text: string, out: string[], atStart = true): void {
  // Fast path for the common single step (GPT-2: ByteLevel with its regex).
  if (steps.length === 1 && steps[0].type === 'byteLevel') {
    byteLevel(steps[0], text, out);
    return;
  }
  let pieces = [text];
  let firstAtStart = atStart;   // pieces[0] begins the input
  for (const step of steps) {
    const next: string[] = [];
    let nextFirstAtStart = false;
    pieces.forEach((p, i) => {
      const first = i === 0 && firstAtStart;
      if (step.type === 'split' || step.type === 'digits') {
        const starts: number[] = [];
        if (step.type === 'digits') splitBy(step.individualDigits ? DIGIT : DIGITS, p, step.individualDigits ? 'Isolated' : 'Contiguous', false, next, starts);
        else splitBy(step.regex, p, step.behavior, step.invert, next, starts);
        if (first && starts[0] === 0) nextFirstAtStart = true;
      } else {
        const from = next.length;
        if (step.type === 'byteLevel') byteLevel(step, p, next);
        else metaspace(step, p, first, next);
        if (first && next.length > from) nextFirstAtStart = true;
      }
    });
    firstAtStart = nextFirstAtStart;
    pieces = next;
  }
  for (const p of pieces) out.push(p);
}

// HF's Metaspace: spaces become the replacement, which is prepended per the scheme, then (split) each
// replacement starts a new pre-token.
function metaspace(step: { replacement: string; prependScheme: PrependScheme; split: boolean }, text: string, atStart: boolean, out: string[]): void {
  const r = step.replacement;
  let t = text.replaceAll(' ', r);
  if (!t.startsWith(r) && (step.prependScheme === 'always' || (step.prependScheme === 'first' && atStart))) t = r + t;
  if (!step.split) { out.push(t); return; }
  let from = 0;
  for (let i = t.indexOf(r, 1); i >= 0; i = t.indexOf(r, i + r.length)) {
    out.push(t.slice(from, i));
    from = i;
  }
  out.push(t.slice(from));
}

function byteLevel(step: { addPrefixSpace: boolean; useRegex: boolean }, text: string, out: string[]): void {
  if (step.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
  if (!step.useRegex) {
    if (text) out.push(text);
    return;
  }
  splitGpt2(text, out);
}

/**
 * HF's NormalizedString::split: matches and the text between them, combined per behavior; empty pieces
 * dropped. starts, when given, receives each piece's offset in text.
 */
export function splitBy(regex: RegExp, text: string, behavior: SplitBehavior, invert: boolean, out: string[], starts?: number[]): void {
  if (behavior === 'Isolated') {
    // The common case (Llama 3, Qwen2): every match and every gap is its own piece.
    let prev = 0;
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      const s = m.index, e = s + m[0].length;
      if (e === s) {
        // An empty match still cuts the text (HF keeps it as an empty span); step one character, as matchAll does.
        if (s > prev) { out.push(text.slice(prev, s)); starts?.push(prev); prev = s; }
        regex.lastIndex = e + ((text.codePointAt(e) ?? 0) > 0xffff ? 2 : 1);
        continue;
      }
      if (s > prev) { out.push(text.slice(prev, s)); starts?.push(prev); }
      out.push(m[0]);
      starts?.push(s);
      prev = e;
    }
    if (prev < text.length) { out.push(text.slice(prev)); starts?.push(prev); }
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
  for (const [s, e] of pieces) if (e > s) { out.push(text.slice(s, e)); starts?.push(s); }
}
