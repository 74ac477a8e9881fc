// A WordPiece tokenizer (BERT, DistilBERT) assembled from its parts in Hugging Face's order: added tokens
// (raw) -> BertNormalizer -> added tokens (normalized) -> BertPreTokenizer -> WordPiece -> template.
import { createHash } from 'node:crypto';
import { AddedVocabulary, type AddedToken } from './added_tokens.js';
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
  private readonly added: AddedVocabulary;
  private fingerprintCache: string | null = null;

  constructor(p: WordPieceTokenizerParts) {
    this.parts = p;
    this.model = p.model;
    this.postProcessor = p.postProcessor;
    this.template = singlePrefixSuffix(p.postProcessor);
    this.bosId = p.bosId;
    this.eosId = p.eosId;
    this.padId = p.padId;
    const norm = p.normalizer;
    this.added = new AddedVocabulary(p.addedTokens, p.model.size, norm ? (s) => bertNormalize(norm, s) : null);
    this.vocabSize = this.added.size;
  }

  get fingerprint(): string {
    return (this.fingerprintCache ??= createHash('sha256').update(this.parts.fingerprintSource()).digest('hex').slice(0, 16));
  }

  encodeWords(text: string, opts: { parseSpecialTokens?: boolean } = {}): WordIds {
    const ids: number[] = [], wordIds: number[] = [];
    let word = 0;
    const endWord = () => { while (wordIds.length < ids.length) wordIds.push(word); word++; };
    const pieces: string[] = [];
    this.added.split(text, opts.parseSpecialTokens ?? true, (id) => { ids.push(id); endWord(); }, (s) => {
      pieces.length = 0;
      bertPreTokenize(s, pieces);
      for (const piece of pieces) { this.model.encodeWord(piece, ids); endWord(); }
    });
    return { ids, wordIds };
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const { ids } = this.encodeWords(text, opts);
    return (opts.addSpecialTokens ?? true) ? [...this.template.prefix, ...ids, ...this.template.suffix] : ids;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (opts.skipSpecialTokens && this.added.isSpecial(ids[i])) continue;
      const t = this.idToToken(ids[i]);
      if (t !== undefined) tokens.push(t);
    }
    return wordPieceDecode(tokens, this.parts.decoder.prefix, this.parts.decoder.cleanup);
  }

  decodeStream(opts: DecodeOptions = {}): StreamDecoder {
    return new PrefixStreamDecoder((ids) => this.decode(ids, opts));
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
}
