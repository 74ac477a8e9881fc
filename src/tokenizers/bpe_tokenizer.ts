// A BPE tokenizer (byte-level or SentencePiece-style) assembled from its parts, in Hugging Face's order:
// added tokens (raw) -> normalize -> added tokens (normalized) -> pre-tokenize -> BPE -> template;
// decoding runs the decoder steps over the token strings (byte-level: straight from bytes).
import { createHash } from 'node:crypto';
import { AddedVocabulary, type AddedToken } from './added_tokens.js';
import type { BytePairModel } from './bpe.js';
import { scanGpt2, tokenToBytes } from './byte_level.js';
import { decodeTokens, type DecoderStep } from './decoders.js';
import { normalize, type Normalizer } from './normalizers.js';
import { preTokenize, type PreTokenizerStep } from './pretokenize.js';
import type { PostProcessor } from './post_processor.js';
import { ByteStreamDecoder, PrefixStreamDecoder, type DecodeOptions, type EncodeOptions, type StreamDecoder, type Tokenizer, type WordIds } from './tokenizer.js';

export interface BpeTokenizerParts {
  model: BytePairModel;
  addedTokens: AddedToken[];
  normalizers: Normalizer[];
  preTokenizer: PreTokenizerStep[];
  /** The decoder steps; [byteLevel] alone (with a byte-level model) decodes straight from bytes. */
  decoder: DecoderStep[];
  /** Ids put around the sequence when addSpecialTokens is on (from the post-processor). */
  template: { prefix: number[]; suffix: number[] };
  /** The single and pair templates with type ids (the post-processor); default: the template alone. */
  postProcessor?: PostProcessor;
  bosId: number | null;
  eosId: number | null;
  padId: number | null;
  /** The text the fingerprint hashes (e.g. tokenizer.json and the special-token options); computed on first use. */
  fingerprintSource?: () => string;
}

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly model: BytePairModel;
  readonly addedTokens: readonly AddedToken[];
  readonly template: { readonly prefix: readonly number[]; readonly suffix: readonly number[] };
  readonly postProcessor: PostProcessor;
  private readonly normalizers: Normalizer[];
  private readonly preTokenizer: PreTokenizerStep[];
  private readonly added: AddedVocabulary;
  private readonly decoder: DecoderStep[];
  /** id -> bytes, for a pure byte-level tokenizer (null otherwise: decoding runs the decoder steps). */
  private readonly bytes: (Uint8Array | undefined)[] | null;
  private readonly fingerprintSource: () => string;
  private readonly gpt2Split: { addPrefixSpace: boolean } | null;
  private fingerprintCache: string | null = null;

  constructor(p: BpeTokenizerParts) {
    this.model = p.model;
    this.addedTokens = p.addedTokens;
    this.normalizers = p.normalizers;
    this.preTokenizer = p.preTokenizer;
    const only = p.preTokenizer.length === 1 ? p.preTokenizer[0] : null;
    this.gpt2Split = only && only.type === 'byteLevel' && only.useRegex ? { addPrefixSpace: only.addPrefixSpace } : null;
    this.template = p.template;
    this.postProcessor = p.postProcessor ?? {
      single: [{ ids: p.template.prefix, typeId: 0 }, { seq: 0, typeId: 0 }, { ids: p.template.suffix, typeId: 0 }],
      pair: [{ ids: p.template.prefix, typeId: 0 }, { seq: 0, typeId: 0 }, { ids: p.template.suffix, typeId: 0 }, { seq: 1, typeId: 1 }],
      kind: 'template',
    };
    this.bosId = p.bosId;
    this.eosId = p.eosId;
    this.padId = p.padId;
    this.fingerprintSource = p.fingerprintSource ?? (() => JSON.stringify([p.model.merges, [...p.model.vocab], p.addedTokens, p.template]));
    this.added = new AddedVocabulary(p.addedTokens, p.model.size, p.normalizers.length ? (s) => normalize(p.normalizers, s) : null);
    const size = this.vocabSize = this.added.size;
    this.decoder = p.decoder;
    const byteLevelOnly = p.model.byteLevel && p.decoder.length === 1 && p.decoder[0].type === 'byteLevel';
    this.bytes = byteLevelOnly ? new Array(size) : null;
    if (this.bytes) {
      for (let id = 0; id < p.model.size; id++) this.bytes[id] = p.model.bytesOf(id);
      // HF's ByteLevel decoder rule, applied to added tokens too
      for (const t of p.addedTokens) this.bytes[t.id] = tokenToBytes(t.content);
    }
  }

  /** A short stable hash of everything that decides the ids (keys caches of tokenized data). */
  get fingerprint(): string {
    return (this.fingerprintCache ??= createHash('sha256').update(this.fingerprintSource()).digest('hex').slice(0, 16));
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (opts.addSpecialTokens ?? true) for (const id of this.template.prefix) ids.push(id);
    this.encodeInto(text, opts.parseSpecialTokens ?? true, ids, null);
    if (opts.addSpecialTokens ?? true) for (const id of this.template.suffix) ids.push(id);
    return ids;
  }

  /** encode without special tokens, each id with the index of its pre-token (HF's word_ids). */
  encodeWords(text: string, opts: { parseSpecialTokens?: boolean } = {}): WordIds {
    const ids: number[] = [], wordIds: number[] = [];
    let word = 0;
    this.encodeInto(text, opts.parseSpecialTokens ?? true, ids, () => { while (wordIds.length < ids.length) wordIds.push(word); word++; });
    return { ids, wordIds };
  }

  /** Appends text's ids; endWord (if given) is called after each added token and each pre-token. */
  private encodeInto(text: string, parseSpecial: boolean, ids: number[], endWord: (() => void) | null): void {
    const pieces: string[] = [];
    this.added.split(text, parseSpecial, (id) => { ids.push(id); endWord?.(); }, (s, first) => {
      if (this.gpt2Split) {
        // Fast path (GPT-2 style): pre-tokens as ranges of the text, looked up without slicing.
        const t = this.gpt2Split.addPrefixSpace && !s.startsWith(' ') ? ' ' + s : s;
        scanGpt2(t, (a, b) => { this.model.encodeRange(t, a, b, ids); endWord?.(); });
        return;
      }
      pieces.length = 0;
      // Only a segment at the input's first character counts as the start (Metaspace 'first').
      preTokenize(this.preTokenizer, s, pieces, first);
      for (const piece of pieces) { this.model.encodePiece(piece, ids); endWord?.(); }
    });
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    if (!this.bytes) {
      const tokens: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (skip && this.added.isSpecial(ids[i])) continue;
        const t = this.idToToken(ids[i]);
        if (t !== undefined) tokens.push(t);
      }
      return decodeTokens(this.decoder, tokens);
    }
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (skip && this.added.isSpecial(id)) continue;
      const b = this.bytes[id];
      if (b) { parts.push(b); n += b.length; }
    }
    const all = new Uint8Array(n);
    let off = 0;
    for (const b of parts) { all.set(b, off); off += b.length; }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(all);
  }

  decodeStream(opts: DecodeOptions = {}): StreamDecoder {
    const skip = opts.skipSpecialTokens ?? false;
    const bytes = this.bytes;
    if (!bytes) return new PrefixStreamDecoder((ids) => this.decode(ids, opts));
    return new ByteStreamDecoder((id) => (skip && this.added.isSpecial(id) ? undefined : bytes[id]));
  }

  idToToken(id: number): string | undefined {
    return this.added.content(id) ?? this.model.idToTokenTable[id];
  }

  tokenToId(token: string): number | undefined {
    return this.added.idOf(token) ?? this.model.vocab.get(token);
  }

  isSpecial(id: number): boolean {
    return this.added.isSpecial(id);
  }

  /** The bytes a token stands for in a byte-level tokenizer (undefined for an unused id, or when not byte-level). */
  bytesOf(id: number): Uint8Array | undefined {
    return this.bytes?.[id];
  }
}
