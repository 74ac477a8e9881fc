// Masked-LM batches, as Hugging Face's DataCollatorForLanguageModeling makes them: each non-special token
// is chosen with mlm_probability; of the chosen, 80% become the mask token, 10% a random token, 10% stay;
// labels are -100 except at the chosen. Masks are drawn anew each time a batch is seen (dynamic masking)
// from a seed of (run seed, epoch, batch), so a resumed run draws the same masks; eval masks are fixed.
import { Rng } from '../util/rng.js';
import { GptuneError } from '../util/errors.js';
import { IGNORE_INDEX, type Batch, type Example, type SequenceDataset } from './types.js';
import { evalBatches, type Batches, type BatchOptions } from './batches.js';

export interface MaskingOptions {
  maskId: number;
  /** Random replacements are drawn from [0, vocabSize), specials included (torch.randint(len(tokenizer))). */
  vocabSize: number;
  /** (vocabSize) 1 = special token (the tokenizer's all_special_ids): never chosen. */
  special: Uint8Array;
  /** mlm_probability (HF default 0.15). */
  probability: number;
  /** HF's mask_replace_prob / random_replace_prob (0.8 / 0.1; the rest stay unchanged). */
  maskReplace?: number;
  randomReplace?: number;
  /** Whole-word masking: per token id, WORD_START / ENDS_WORD flags (wordBoundaries); null = per token. */
  wholeWord?: Uint8Array | null;
}

/** The token begins a word (a WordPiece token without '##'; a byte-level token that starts with whitespace). */
export const WORD_START = 1;
/** The token ends in whitespace (byte-level 'Ċ'): the next token begins a word. */
export const ENDS_WORD = 2;

/** A masked batch: what the trainer's TrainBatch needs (attention mask set where rows are padded). */
export interface MaskedBatch extends Batch {
  attentionMask: Int32Array | null;
}

/** One seed from several integers (a murmur-style mix), for per-batch and per-row generators. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * Masks a corpus batch (labels equal the inputs, IGNORE_INDEX at padding): -> inputs with the chosen tokens
 * replaced, labels -100 except there, targetTokens = the number chosen. Each row draws from its own
 * generator (seed, row), so a row's mask does not depend on the batch size or an MPI shard.
 */
export function maskBatch(b: Batch, o: MaskingOptions, seed: number): MaskedBatch {
  const { batch: B, seqLen: T } = b;
  const p = o.probability, pMask = o.maskReplace ?? 0.8, pRandom = o.randomReplace ?? 0.1;
  // HF: random replacement given not [MASK] is random_replace_prob / (1 - mask_replace_prob).
  const pRandomGivenKept = pMask < 1 ? pRandom / (1 - pMask) : 0;
  const inputIds = b.inputIds.slice(), labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  let attentionMask: Int32Array | null = null;
  let chosen = 0;
  const isSpecial = (id: number) => id < 0 || id >= o.special.length || o.special[id] === 1;
  for (let r = 0; r < B; r++) {
    const rng = new Rng(mixSeed(seed, r));
    const row = r * T;
    let wordChosen = false;
    for (let t = 0; t < T; t++) {
      const i = row + t, id = b.inputIds[i];
      if (b.labels[i] === IGNORE_INDEX) { // padding (collate leaves it without a label)
        attentionMask ??= new Int32Array(B * T).fill(1);
        attentionMask[i] = 0;
        continue;
      }
      if (isSpecial(id)) { wordChosen = false; continue; }
      if (o.wholeWord) {
        // HF 5: a word starts after a gap or a special token; its first token alone draws (mlm_probability
        // per word), and every token of a chosen word becomes the mask token (no random / unchanged).
        const prev = t > 0 ? b.inputIds[i - 1] : -1;
        const starts = t === 0 || isSpecial(prev) || b.labels[i - 1] === IGNORE_INDEX || (o.wholeWord[id] & WORD_START) !== 0 || (o.wholeWord[prev] & ENDS_WORD) !== 0;
        if (starts) wordChosen = rng.uniform() < p;
        if (wordChosen) { labels[i] = id; inputIds[i] = o.maskId; chosen++; }
        continue;
      }
      if (!(rng.uniform() < p)) continue;
      labels[i] = id;
      chosen++;
      if (rng.uniform() < pMask) inputIds[i] = o.maskId;
      else if (rng.uniform() < pRandomGivenKept) inputIds[i] = rng.int(o.vocabSize);
    }
  }
  return { inputIds, labels, batch: B, seqLen: T, positions: null, segments: null, targetTokens: chosen, attentionMask };
}

/** Training batches with dynamic masks: the masks of batch k of epoch e come from (seed, e, k) alone. */
export class MaskedLMBatches {
  constructor(readonly source: Batches, readonly masking: MaskingOptions, readonly seed: number) {
    if (source.opts.packing) throw new GptuneError('masked-LM training takes no --packing (corpus blocks are already full rows)');
  }
  get batchesPerEpoch(): number { return this.source.batchesPerEpoch; }
  next(): MaskedBatch {
    const b = this.source.next();
    return maskBatch(b, this.masking, mixSeed(this.seed, this.source.epoch, this.source.position - 1));
  }
  state(): unknown { return this.source.state(); }
  restore(s: unknown): void { this.source.restore(s as Parameters<Batches['restore']>[0]); }
}

const EVAL_STREAM = 0x4556414c; // 'EVAL': eval masks never coincide with a training batch's

/** One pass over a validation set with the same masks every time (eval losses compare across steps). */
export function* maskedEvalBatches(dataset: SequenceDataset, opts: Omit<BatchOptions, 'shuffle' | 'seed' | 'dropLast'>, masking: MaskingOptions, seed: number): Generator<MaskedBatch> {
  let k = 0;
  for (const b of evalBatches(dataset, opts)) yield maskBatch(b, masking, mixSeed(seed, EVAL_STREAM, k++));
}

/**
 * Corpus blocks framed as the tokenizer frames one text ([CLS] block [SEP], <s> block </s>): every row
 * then looks like what the encoder sees when fine-tuned. The blocks hold seqLen minus the frame.
 */
export class FramedDataset implements SequenceDataset {
  constructor(readonly base: SequenceDataset, readonly prefix: readonly number[], readonly suffix: readonly number[]) {}
  get size(): number { return this.base.size; }
  length(i: number): number { return this.base.length(i) + this.prefix.length + this.suffix.length; }
  get(i: number): Example {
    const inner = this.base.get(i).inputIds;
    const inputIds = new Int32Array(inner.length + this.prefix.length + this.suffix.length);
    inputIds.set(this.prefix, 0);
    inputIds.set(inner, this.prefix.length);
    inputIds.set(this.suffix, this.prefix.length + inner.length);
    return { inputIds, labels: inputIds.slice() };
  }
}
