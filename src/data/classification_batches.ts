// Classification rows as the trainer's stream of batches: right-padded per batch with an attention
// mask and token types, shuffled per epoch by a seeded generator, with a cursor that resumes exactly
// (the same state as data/batches.ts keeps for language-model data).
import { GptuneError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { BatchSource, TrainBatch } from '../train/trainer.js';
import { IGNORE_INDEX, padClassificationBatch, type ClassificationRow, type ProblemType } from './classification.js';
import { epochOrder } from './batches.js';

export interface ClassificationBatchOptions {
  batchSize: number;
  padId: number;
  problemType: ProblemType;
  /** Pass token_type_ids to the model (BERT); RoBERTa's tokenizer gives none. */
  tokenTypes: boolean;
  /** [num_labels] CE class weights: each target then counts its class's weight (see targetCount). */
  classWeights?: Float32Array | null;
  shuffle?: boolean;
  seed?: number;
}

/** The resumable cursor: JSON-serialisable; the order is recomputed from the rng state. */
export interface ClassificationBatchesState {
  epoch: number;
  position: number;
  /** Rng state at the start of that epoch (it shuffles the epoch's order). */
  rng: number;
  size: number;
  batchSize: number;
  shuffle: boolean;
}

/** An endless stream of batches over epochs of classification rows. */
export class ClassificationBatches implements BatchSource {
  private epochNo = 0;
  private pos = 0;
  private epochRng: number;
  private nextEpochRng = 0;
  private order!: Int32Array; // (n,) row indices in this epoch's order

  constructor(readonly rows: readonly ClassificationRow[], readonly opts: ClassificationBatchOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new GptuneError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (rows.length === 0) throw new GptuneError('no classification rows to train on');
    this.epochRng = (opts.seed ?? 0) >>> 0;
    this.plan();
  }

  get batchesPerEpoch(): number { return Math.ceil(this.rows.length / this.opts.batchSize); }

  next(): TrainBatch {
    if (this.pos >= this.batchesPerEpoch) {
      this.epochNo++;
      this.pos = 0;
      this.epochRng = this.nextEpochRng;
      this.plan();
    }
    const k = this.pos++, bs = this.opts.batchSize;
    const picked = Array.from(this.order.subarray(k * bs, Math.min(this.rows.length, (k + 1) * bs)), (i) => this.rows[i]);
    return classificationTrainBatch(picked, this.opts);
  }

  state(): ClassificationBatchesState {
    return { epoch: this.epochNo, position: this.pos, rng: this.epochRng, size: this.rows.length, batchSize: this.opts.batchSize, shuffle: this.opts.shuffle ?? false };
  }

  restore(raw: unknown): void {
    const s = raw as ClassificationBatchesState;
    const shuffle = this.opts.shuffle ?? false;
    if (!s || s.size !== this.rows.length || s.batchSize !== this.opts.batchSize || s.shuffle !== shuffle) {
      throw new GptuneError(`the saved data cursor (${s?.size} rows, batchSize ${s?.batchSize}, shuffle ${s?.shuffle}) does not fit this data ` +
        `(${this.rows.length} rows, batchSize ${this.opts.batchSize}, shuffle ${shuffle})`);
    }
    if (!(s.position >= 0 && s.position <= this.batchesPerEpoch)) throw new GptuneError(`the saved data cursor is at batch ${s.position} of an epoch with ${this.batchesPerEpoch}`);
    this.epochNo = s.epoch;
    this.epochRng = s.rng >>> 0;
    this.plan();
    this.pos = s.position;
  }

  // This epoch's order from the epoch's rng state alone (as data/batches.ts), so restore() can redo it.
  private plan(): void {
    const rng = new Rng(this.epochRng);
    this.order = epochOrder(this.rows.length, rng, this.opts.shuffle === true);
    this.nextEpochRng = rng.state;
  }
}

/** One pass over rows in order (validation): the last batch may be smaller. */
export function* classificationEvalBatches(rows: readonly ClassificationRow[], opts: Omit<ClassificationBatchOptions, 'shuffle' | 'seed'>): Generator<TrainBatch> {
  for (let i = 0; i < rows.length; i += opts.batchSize) yield classificationTrainBatch(rows.slice(i, i + opts.batchSize), opts);
}

/**
 * Rows -> the trainer's batch: labels are class ids [B] (single-label) or token labels [B*T] with -100
 * on sub-tokens, special tokens and padding; multi-hot [B*L] and regression targets go in floatLabels.
 */
export function classificationTrainBatch(rows: readonly ClassificationRow[], opts: Pick<ClassificationBatchOptions, 'padId' | 'problemType' | 'tokenTypes' | 'classWeights'>): TrainBatch {
  const p = padClassificationBatch(rows, opts.padId, opts.problemType);
  const { batchSize: B, seqLen: T } = p;
  let labels: Int32Array = new Int32Array(0), floatLabels: Float32Array | null = null;
  if (opts.problemType === 'token_classification') labels = p.tokenLabels!;
  else if (p.labels === null) throw new GptuneError('training rows need labels (a row without one reached a training batch)');
  else if (p.labels instanceof Int32Array && opts.problemType === 'single_label_classification') labels = p.labels;
  else floatLabels = Float32Array.from(p.labels);
  return {
    inputIds: p.inputIds, labels, floatLabels, batch: B, seqLen: T, positions: null, segments: null,
    attentionMask: Int32Array.from(p.attentionMask), tokenTypeIds: opts.tokenTypes ? p.tokenTypeIds : null,
    targetTokens: targetCount(opts.problemType, labels, B, opts.classWeights ?? null),
  };
}

/**
 * The batch's share of the loss's denominator: rows (sequence heads) or labelled tokens, each counted
 * by its class weight under CE class weights, so sum(w_y l) / sum(w_y) over the step equals torch's
 * CrossEntropyLoss(weight=) on the whole step's batch.
 */
function targetCount(problem: ProblemType, labels: Int32Array, B: number, w: Float32Array | null): number {
  const ce = problem === 'token_classification' || problem === 'single_label_classification';
  if (!ce) return B;
  let n = 0;
  for (const y of labels) if (y !== IGNORE_INDEX) n += w ? w[y] : 1;
  return n;
}
