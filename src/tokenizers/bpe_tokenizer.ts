// A BPE tokenizer (byte-level or SentencePiece-style) assembled from its parts, in Hugging Face's order:
// added tokens (raw) -> normalize -> added tokens (normalized) -> pre-tokenize -> BPE -> template;
// decoding runs the decoder steps over the token strings (byte-level: straight from bytes).
import { createHash } from 'node:crypto';
import { AddedTokenMatcher, type AddedToken, type Segment } from './added_tokens.js';
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
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly decoder: DecoderStep[];
  /** id -> bytes, for a pure byte-level tokenizer (null otherwise: decoding runs the decoder steps). */
  private readonly bytes: (Uint8Array | undefined)[] | null;
  private readonly special: Uint8Array;
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
    // Without a normalizer the "normalized" text is the raw text, but HF still matches in two passes.
    this.rawMatcher = new AddedTokenMatcher(p.addedTokens.filter((t) => !t.normalized));
    this.normalizedMatcher = new AddedTokenMatcher(p.addedTokens.filter((t) => t.normalized), (t) => normalize(p.normalizers, t.content));
    let size = p.model.size;
    for (const t of p.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      size = Math.max(size, t.id + 1);
    }
    this.vocabSize = size;
    this.decoder = p.decoder;
    this.special = new Uint8Array(size);
    for (const t of p.addedTokens) if (t.special) this.special[t.id] = 1;
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
    const parseSpecial = opts.parseSpecialTokens ?? true;
    const use = (t: AddedToken) => parseSpecial || !t.special;
    const ids: number[] = [];
    if (opts.addSpecialTokens ?? true) for (const id of this.template.prefix) ids.push(id);

    const raw: Segment[] = [];
    this.rawMatcher.split(text, use, raw);
    const pieces: string[] = [];
    for (let i = 0; i < raw.length; i++) {
      const seg = raw[i];
      if (typeof seg === 'number') { ids.push(seg); continue; }
      const norm = this.normalizers.length ? normalize(this.normalizers, seg) : seg;
      const segs: Segment[] = [];
      this.normalizedMatcher.split(norm, use, segs);
      for (let j = 0; j < segs.length; j++) {
        const s = segs[j];
        if (typeof s === 'number') { ids.push(s); continue; }
        if (this.gpt2Split) {
          // Fast path (GPT-2 style): pre-tokens as ranges of the text, looked up without slicing.
          const t = this.gpt2Split.addPrefixSpace && !s.startsWith(' ') ? ' ' + s : s;
          scanGpt2(t, (a, b) => this.model.encodeRange(t, a, b, ids));
          continue;
        }
        pieces.length = 0;
        // Only a segment at the input's first character counts as the start (Metaspace 'first').
        preTokenize(this.preTokenizer, s, pieces, i === 0 && j === 0);
        for (const piece of pieces) this.model.encodePiece(piece, ids);
      }
    }
    if (opts.addSpecialTokens ?? true) for (const id of this.template.suffix) ids.push(id);
    return ids;
  }

  /** encode without special tokens, each id with the index of its pre-token (HF's word_ids). */
  encodeWords(text: string, opts: { parseSpecialTokens?: boolean } = {}): WordIds {
    const parseSpecial = opts.parseSpecialTokens ?? true;
    const use = (t: AddedToken) => parseSpecial || !t.special;
    const ids: number[] = [], wordIds: number[] = [];
    let word = 0;
    const tag = () => { while (wordIds.length < ids.length) wordIds.push(word); word++; };
    const raw: Segment[] = [];
    this.rawMatcher.split(text, use, raw);
    const pieces: string[] = [];
    for (let i = 0; i < raw.length; i++) {
      const seg = raw[i];
      if (typeof seg === 'number') { ids.push(seg); tag(); continue; }
      const norm = this.normalizers.length ? normalize(this.normalizers, seg) : seg;
      const segs: Segment[] = [];
      this.normalizedMatcher.split(norm, use, segs);
      for (let j = 0; j < segs.length; j++) {
        const s = segs[j];
        if (typeof s === 'number') { ids.push(s); tag(); continue; }
        if (this.gpt2Split) {
          const t = this.gpt2Split.addPrefixSpace && !s.startsWith(' ') ? ' ' + s : s;
          scanGpt2(t, (a, b) => { this.model.encodeRange(t, a, b, ids); tag(); });
          continue;
        }
        pieces.length = 0;
        preTokenize(this.preTokenizer, s, pieces, i === 0 && j === 0);
        for (const piece of pieces) { this.model.encodePiece(piece, ids); tag(); }
      }
    }
    return { ids, wordIds };
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    if (!this.bytes) {
      const tokens: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (skip && this.special[ids[i]]) continue;
        const t = this.idToToken(ids[i]);
        if (t !== undefined) tokens.push(t);
      }
      return decodeTokens(this.decoder, tokens);
    }
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (skip && this.special[id]) continue;
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
    return new ByteStreamDecoder((id) => (skip && this.special[id] ? undefined : bytes[id]));
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToTokenTable[id];
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  isSpecial(id: number): boolean {
    return this.special[id] === 1;
  }

  /** The bytes a token stands for in a byte-level tokenizer (undefined for an unused id, or when not byte-level). */
  bytesOf(id: number): Uint8Array | undefined {
    return this.bytes?.[id];
  }
}
