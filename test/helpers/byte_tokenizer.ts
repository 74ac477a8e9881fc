// A tiny byte-level tokenizer for data tests: each UTF-8 byte is its own id (0..255) and a few
// special tokens follow, recognised in text as whole strings (as Hugging Face's added tokens are).
// It satisfies src/data/types.ts's TextTokenizer without depending on src/tokenizers.
import type { TextTokenizer } from '../../src/data/types.js';

export interface ByteTokenizerOptions {
  /** Special token strings, given ids 256, 257, ... in order. */
  specials?: string[];
  bos?: string | null;
  eos?: string | null;
  pad?: string | null;
  /** encode() with addSpecialTokens (the default) prepends BOS, as Llama's tokenizer does. */
  addBosByDefault?: boolean;
  fingerprint?: string;
}

export const DEFAULT_SPECIALS = [
  '<|endoftext|>', '<s>', '<pad>', '<|im_start|>', '<|im_end|>',
  '<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
];

export class ByteTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly fingerprint: string;
  private readonly specials: string[];
  private readonly byLength: string[];
  private readonly addBosByDefault: boolean;
  /** How many times encode() ran (tests check the token cache is reused). */
  encodeCalls = 0;

  constructor(opts: ByteTokenizerOptions = {}) {
    this.specials = opts.specials ?? DEFAULT_SPECIALS;
    this.byLength = [...this.specials].sort((a, b) => b.length - a.length);
    this.vocabSize = 256 + this.specials.length;
    const id = (s: string | null | undefined) => (s == null ? null : this.tokenId(s));
    this.bosId = id(opts.bos === undefined ? null : opts.bos);
    this.eosId = id(opts.eos === undefined ? '<|endoftext|>' : opts.eos);
    this.padId = id(opts.pad === undefined ? null : opts.pad);
    this.addBosByDefault = opts.addBosByDefault ?? false;
    this.fingerprint = opts.fingerprint ?? `bytes+${this.specials.join(',')}`;
  }

  tokenId(s: string): number {
    const i = this.specials.indexOf(s);
    if (i < 0) throw new Error(`ByteTokenizer: no special token ${s}`);
    return 256 + i;
  }

  idToToken(id: number): string | undefined {
    if (id >= 256 && id < this.vocabSize) return this.specials[id - 256];
    if (id >= 0 && id < 256) return String.fromCharCode(id);
    return undefined;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    this.encodeCalls++;
    const ids: number[] = [];
    if ((opts.addSpecialTokens ?? true) && this.addBosByDefault && this.bosId !== null) ids.push(this.bosId);
    let i = 0, plain = 0;
    const flush = (end: number) => { for (const b of Buffer.from(text.slice(plain, end), 'utf8')) ids.push(b); };
    while (i < text.length) {
      const s = this.byLength.find((sp) => text.startsWith(sp, i));
      if (s === undefined) { i++; continue; }
      flush(i);
      ids.push(this.tokenId(s));
      i += s.length;
      plain = i;
    }
    flush(text.length);
    return ids;
  }

  decode(ids: readonly number[]): string {
    let out = '';
    let bytes: number[] = [];
    for (const id of ids) {
      if (id < 256) { bytes.push(id); continue; }
      out += Buffer.from(bytes).toString('utf8') + (this.specials[id - 256] ?? '');
      bytes = [];
    }
    return out + Buffer.from(bytes).toString('utf8');
  }
}

/** The ids of a plain string (no specials), for building expected arrays in tests. */
export function bytesOf(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}
