// A WordPiece tokenizer (BERT, DistilBERT) assembled from its parts in Hugging Face's order: added tokens
// (raw) -> BertNormalizer -> added tokens (normalized) -> BertPreTokenizer -> WordPiece -> template.
import { createHash } from 'node:crypto';
import { AddedTokenMatcher, type AddedToken, type Segment } from './added_tokens.js';
import { bertNormalize, bertPreTokenize, type BertNormalizerOptions } from './bert_normalizer.js';
import { singlePrefixSuffix, type PostProcessor } from './post_processor.js';
import { PrefixStreamDecoder, type DecodeOptions, type EncodeOptions, type StreamDecoder, type Tokenizer, type WordIds } from './tokenizer.js';
import { wordPieceDecode, type WordPieceModel } from './wordpiece.js';

export interface WordPieceTokenizerParts {
  model: WordPieceModel;
  addedTokens: AddedToken[];
  /** null: no normalizer in tokenizer.json. */
  normalizer: BertNormalizerOptions | null;
  postProcessor: PostProcessor;
  decoder: { prefix: string; cleanup: boolean };
  bosId: number | null;
  eosId: number | null;
  padId: number | null;
  fingerprintSource: () => string;
}

export class WordPieceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly model: WordPieceModel;
  readonly postProcessor: PostProcessor;
  private readonly template: { prefix: number[]; suffix: number[] };
  private readonly parts: WordPieceTokenizerParts;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly special: Uint8Array;
  private fingerprintCache: string | null = null;

  constructor(p: WordPieceTokenizerParts) {
    this.parts = p;
    this.model = p.model;
    this.postProcessor = p.postProcessor;
    this.template = singlePrefixSuffix(p.postProcessor);
    this.bosId = p.bosId;
    this.eosId = p.eosId;
    this.padId = p.padId;
    this.rawMatcher = new AddedTokenMatcher(p.addedTokens.filter((t) => !t.normalized));
    this.normalizedMatcher = new AddedTokenMatcher(p.addedTokens.filter((t) => t.normalized), (t) => this.normalize(t.content));
    let size = p.model.size;
    for (const t of p.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      size = Math.max(size, t.id + 1);
    }
    this.vocabSize = size;
    this.special = new Uint8Array(size);
    for (const t of p.addedTokens) if (t.special) this.special[t.id] = 1;
  }

  get fingerprint(): string {
    return (this.fingerprintCache ??= createHash('sha256').update(this.parts.fingerprintSource()).digest('hex').slice(0, 16));
  }

  private normalize(s: string): string {
    return this.parts.normalizer ? bertNormalize(this.parts.normalizer, s) : s;
  }

  encodeWords(text: string, opts: { parseSpecialTokens?: boolean } = {}): WordIds {
    const parseSpecial = opts.parseSpecialTokens ?? true;
    const use = (t: AddedToken) => parseSpecial || !t.special;
    const ids: number[] = [], wordIds: number[] = [];
    let word = 0;
    const tag = () => { while (wordIds.length < ids.length) wordIds.push(word); word++; };
    const raw: Segment[] = [];
    this.rawMatcher.split(text, use, raw);
    const pieces: string[] = [];
    for (const seg of raw) {
      if (typeof seg === 'number') { ids.push(seg); tag(); continue; }
      const segs: Segment[] = [];
      this.normalizedMatcher.split(this.normalize(seg), use, segs);
      for (const s of segs) {
        if (typeof s === 'number') { ids.push(s); tag(); continue; }
        pieces.length = 0;
        bertPreTokenize(s, pieces);
        for (const piece of pieces) { this.model.encodeWord(piece, ids); tag(); }
      }
    }
    return { ids, wordIds };
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const { ids } = this.encodeWords(text, opts);
    return (opts.addSpecialTokens ?? true) ? [...this.template.prefix, ...ids, ...this.template.suffix] : ids;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (opts.skipSpecialTokens && this.special[ids[i]]) continue;
      const t = this.idToToken(ids[i]);
      if (t !== undefined) tokens.push(t);
    }
    return wordPieceDecode(tokens, this.parts.decoder.prefix, this.parts.decoder.cleanup);
  }

  decodeStream(opts: DecodeOptions = {}): StreamDecoder {
    return new PrefixStreamDecoder((ids) => this.decode(ids, opts));
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
}
