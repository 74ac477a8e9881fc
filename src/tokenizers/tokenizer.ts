// The Tokenizer contract the rest of gptune uses (data, generation, CLI), and the streaming decoders
// that turn ids into text as they arrive without splitting a UTF-8 character across two chunks.

import type { PostProcessor } from './post_processor.js';

export interface EncodeOptions {
  /** Add what the post-processor adds (Llama 3's BOS; nothing for GPT-2). Default true, as in HF. */
  addSpecialTokens?: boolean;
  /** Recognise special tokens written in the text (HF default). false encodes them as plain text. */
  parseSpecialTokens?: boolean;
}

/** Ids of one text without special tokens, with the index of the word (pre-token) each id came from. */
export interface WordIds {
  ids: number[];
  /** (ids.length) word index per id; an added token found in the text counts as one word, as in HF. */
  wordIds: number[];
}

export interface DecodeOptions {
  /** Leave out special tokens (<|endoftext|>, BOS, ...). Default false. */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** Number of ids: highest id + 1 over the vocab and the added tokens. */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  /** A short stable hash of the vocabulary and rules, for keying caches of tokenized data. */
  readonly fingerprint?: string;
  encode(text: string, opts?: EncodeOptions): number[];
  /** Ids with no token (e.g. a model's padded vocab rows) are skipped, as HF does. */
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /** A decoder for ids that arrive one at a time (generation). */
  decodeStream(opts?: DecodeOptions): StreamDecoder;
  /** The token as spelled in the vocab ('Ġhello' for " hello" in byte-level BPE). */
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  isSpecial(id: number): boolean;
  /** For encoders (src/tokenizers/encode_inputs.ts): encode with word ids, and the single/pair template. */
  encodeWords?(text: string, opts?: { parseSpecialTokens?: boolean }): WordIds;
  readonly postProcessor?: PostProcessor;
}

/** Yields text as ids arrive; the chunks, flush included, concatenate to decode(all ids). */
export interface StreamDecoder {
  /** Text completed by this id ('' while a character is still incomplete). */
  push(id: number): string;
  /** The text still held back (an incomplete character at the end becomes U+FFFD). */
  flush(): string;
}

/**
 * Byte-level tokens can end inside a multi-byte character; those bytes are held back until the
 * character is complete.
 */
export class ByteStreamDecoder implements StreamDecoder {
  // ignoreBOM: keep a leading U+FEFF, which TextDecoder would otherwise strip.
  private readonly td = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(private readonly bytesOf: (id: number) => Uint8Array | undefined) {}

  push(id: number): string {
    const b = this.bytesOf(id);
    return b ? this.td.decode(b, { stream: true }) : '';
  }

  flush(): string {
    return this.td.decode();
  }
}

/**
 * For decoders that depend on neighbouring tokens (SentencePiece's leading-space strip, byte-fallback
 * runs): HF's DecodeStream. Decode a short window of ids, emit what it adds to the decoded window
 * before the new id, and hold back text that ends in U+FFFD (an incomplete byte run).
 */
export class PrefixStreamDecoder implements StreamDecoder {
  private ids: number[] = [];
  private prefix = '';
  private prefixIndex = 0;

  constructor(private readonly decode: (ids: number[]) => string) {}

  push(id: number): string {
    if (this.prefix === '' && this.ids.length > 0) {
      const p = this.decode(this.ids);
      if (!p.endsWith('\ufffd')) { this.prefix = p; this.prefixIndex = this.ids.length; }
    }
    this.ids.push(id);
    const text = this.decode(this.ids);
    if (text.length <= this.prefix.length || text.endsWith('\ufffd') || !text.startsWith(this.prefix)) return '';
    const added = text.slice(this.prefix.length);
    const newPrefixIndex = this.ids.length - this.prefixIndex;
    this.ids = this.ids.slice(this.prefixIndex);
    this.prefix = this.decode(this.ids);
    this.prefixIndex = newPrefixIndex;
    return added;
  }

  flush(): string {
    const text = this.decode(this.ids);
    this.ids = [];
    const rest = text.startsWith(this.prefix) ? text.slice(this.prefix.length) : '';
    this.prefix = '';
    this.prefixIndex = 0;
    return rest;
  }
}
