// tokenizer.json decoders: token strings -> text, each step a function of the whole token list, exactly
// as Hugging Face tokenizers' decode_chain (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace).
// The tokens are then joined with no separator.
import { tokenToBytes } from './byte_level.js';
import type { PrependScheme } from './pretokenize.js';

export type DecoderStep =
  | { type: 'byteLevel' }
  | { type: 'replace'; pattern: RegExp; content: string }
  | { type: 'byteFallback' }
  | { type: 'fuse' }
  | { type: 'strip'; content: string; start: number; stop: number }
  | { type: 'metaspace'; replacement: string; prependScheme: PrependScheme };

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });
const strict = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
// '<0x0A>'; Rust's u8::from_str_radix also takes a '+' sign, hence the second form.
const BYTE_TOKEN = /^<0x(?:[0-9A-Fa-f]{2}|\+[0-9A-Fa-f])>$/;

export function decodeTokens(steps: readonly DecoderStep[], tokens: string[]): string {
  for (const step of steps) tokens = decodeStep(step, tokens);
  return tokens.join('');
}

function decodeStep(step: DecoderStep, tokens: string[]): string[] {
  switch (step.type) {
    case 'byteLevel': {
      const parts = tokens.map(tokenToBytes);
      const all = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
      let off = 0;
      for (const b of parts) { all.set(b, off); off += b.length; }
      return [lossy.decode(all)];
    }
    case 'replace': return tokens.map((t) => t.replace(step.pattern, () => step.content));
    case 'fuse': return [tokens.join('')];
    case 'byteFallback': return byteFallback(tokens);
    case 'strip': return tokens.map((t) => stripChars(t, step.content, step.start, step.stop));
    case 'metaspace': {
      const r = step.replacement;
      // The first token loses every replacement (the prepended space), the others turn them into spaces.
      return tokens.map((t, i) => t.replaceAll(r, i === 0 && step.prependScheme !== 'never' ? '' : ' '));
    }
  }
}

// A run of <0xNN> tokens becomes its UTF-8 text, or one U+FFFD per byte when the run is not valid UTF-8.
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    try {
      out.push(strict.decode(Uint8Array.from(run)));
    } catch {
      for (let i = 0; i < run.length; i++) out.push('\ufffd');
    }
    run = [];
  };
  for (const t of tokens) {
    if (BYTE_TOKEN.test(t)) { run.push(parseInt(t.slice(3, 5).replace('>', ''), 16)); continue; }
    flush();
    out.push(t);
  }
  flush();
  return out;
}

// Removes up to `start` leading and `stop` trailing copies of one character.
function stripChars(token: string, content: string, start: number, stop: number): string {
  const chars = Array.from(token);
  let a = 0, b = chars.length;
  while (a < start && a < chars.length && chars[a] === content) a++;
  for (let i = 0; i < stop && b > a && chars[b - 1] === content; i++) b--;
  return chars.slice(a, b).join('');
}
