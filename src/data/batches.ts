// Turns a dataset into the trainer's stream of batches: right padding or packing, in order or
// shuffled per epoch by a seeded generator, with a small cursor so a resumed run sees the same batches.
import { GptuneError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { firstFitPack } from './packing.js';
import { IGNORE_INDEX, countTargetTokens, type Batch, type Example, type SequenceDataset } from './types.js';

export interface CollateOptions {
  padId: number;
  /** Rows are padded to this length ('max') or to the longest row of the batch (default). */
  seqLen?: number;
  padTo?: 'longest' | 'max';
  /** Rows hold several examples: positions and segments are filled, each example's first label ignored. */
  packed?: boolean;
}

/**
 * rows of examples -> Batch. Pads are padId with IGNORE_INDEX labels, decided by position (never by
 * comparing ids with padId, which would hide an EOS label when pad == eos).
 */
export function collate(rows: readonly (readonly Example[])[], opts: CollateOptions): Batch {
  const B = rows.length;
  if (B === 0) throw new RangeError('collate: no rows');
  const rowLen = rows.map((r) => r.reduce((s, e) => s + e.inputIds.length, 0));
  const longest = Math.max(...rowLen);
  const T = opts.padTo === 'max' ? opts.seqLen ?? longest : longest;
  if (opts.seqLen !== undefined && longest > opts.seqLen) {
    throw new RangeError(`collate: a row holds ${longest} tokens, more than seqLen ${opts.seqLen}`);
  }
  const packed = opts.packed ?? false;
  const inputIds = new Int32Array(B * T).fill(opts.padId);   // (B*T,)
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);   // (B*T,)
  const positions = packed ? new Int32Array(B * T) : null;   // (B*T,)
  const segments = packed ? new Int32Array(B * T) : null;    // (B*T,)
  for (let b = 0; b < B; b++) {
    let t = b * T;
    rows[b].forEach((ex, seg) => {
      if (ex.labels.length !== ex.inputIds.length) throw new RangeError(`collate: example with ${ex.inputIds.length} ids and ${ex.labels.length} labels`);
      inputIds.set(ex.inputIds, t);
      labels.set(ex.labels, t);
      if (packed) {
        // The loss predicts labels[t] from position t-1, which in a packed row is the previous
        // example's last token: the first label of each example is no one's target.
        labels[t] = IGNORE_INDEX;
        for (let k = 0; k < ex.inputIds.length; k++) { positions![t + k] = k; segments![t + k] = seg; }
      }
      t += ex.inputIds.length;
    });
    if (packed) {
      // Pads form one more segment of their own, so each pad query still sees a key (itself).
      for (let k = 0; t < (b + 1) * T; t++, k++) { positions![t] = k; segments![t] = rows[b].length; }
    }
  }
  return { inputIds, labels, batch: B, seqLen: T, positions, segments, targetTokens: countTargetTokens(labels, B, T) };
}

export interface BatchOptions {
  batchSize: number;
  /** The longest row; examples longer than this are an error (truncate when loading). */
  seqLen: number;
  padId: number;
  shuffle?: boolean;
  seed?: number;
  /** Greedy first-fit packing of several examples per row of seqLen. */
  packing?: boolean;
  /** Pad to the longest row of each batch (default) or always to seqLen. */
  padTo?: 'longest' | 'max';
  /** Drop an epoch's last batch when it has fewer than batchSize rows. */
  dropLast?: boolean;
}

/** The resumable cursor: JSON-serialisable; the rest is recomputed from the dataset and options. */
export interface BatchesState {
  /** Epoch of the next batch. */
  epoch: number;
  /** Batches already taken in that epoch. */
  position: number;
  /** Rng state at the start of that epoch (it shuffles the epoch's order). */
  rng: number;
  /** Checked on restore: a cursor only fits the same data and batching. */
  size: number;
  batchSize: number;
  packing: boolean;
  shuffle: boolean;
}

/** An endless stream of batches over epochs of a dataset. */
export class Batches {
  readonly opts: Required<Omit<BatchOptions, 'seed'>> & { seed: number };
  private epochNo = 0;
  private pos = 0;
  private epochRng: number;
  private nextEpochRng = 0;
  private order!: Int32Array;            // (n,) dataset indices, row by row
  private rowStart: Int32Array | null = null; // (rows+1,) packed rows; null: one example per row
  private nBatches = 0;

  constructor(readonly dataset: SequenceDataset, opts: BatchOptions) {
    this.opts = { shuffle: false, seed: 0, packing: false, padTo: 'longest', dropLast: false, ...opts };
    const { batchSize, seqLen } = this.opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new GptuneError(`batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new GptuneError(`seqLen must be an integer >= 2, got ${seqLen}`);
    if (dataset.size === 0) throw new GptuneError('the dataset is empty');
    this.epochRng = this.opts.seed >>> 0;
    this.plan();
    if (this.nBatches === 0) {
      throw new GptuneError(`an epoch has no batches: ${this.rows} rows with batchSize ${batchSize} and dropLast`);
    }
  }

  /** Epoch of the next batch (0-based). */
  get epoch(): number { return this.epochNo; }
  /** Batches already taken in the current epoch. */
  get position(): number { return this.pos; }
  /** Batches in the current epoch (with packing and shuffling this can differ between epochs). */
  get batchesPerEpoch(): number { return this.nBatches; }

  /** The next batch; after an epoch's last batch the next epoch begins (reshuffled). */
  next(): Batch {
    if (this.pos >= this.nBatches) {
      this.epochNo++;
      this.pos = 0;
      this.epochRng = this.nextEpochRng;
      this.plan();
    }
    return this.batchAt(this.pos++);
  }

  state(): BatchesState {
    const { batchSize, packing, shuffle } = this.opts;
    return { epoch: this.epochNo, position: this.pos, rng: this.epochRng, size: this.dataset.size, batchSize, packing, shuffle };
  }

  restore(s: BatchesState): void {
    const { batchSize, packing, shuffle } = this.opts;
    if (s.size !== this.dataset.size || s.batchSize !== batchSize || s.packing !== packing || s.shuffle !== shuffle) {
      throw new GptuneError(`the saved data cursor (${s.size} examples, batchSize ${s.batchSize}, packing ${s.packing}, shuffle ${s.shuffle}) ` +
        `does not fit this data (${this.dataset.size} examples, batchSize ${batchSize}, packing ${packing}, shuffle ${shuffle})`);
    }
    this.epochNo = s.epoch;
    this.epochRng = s.rng >>> 0;
    this.plan();
    if (!(s.position >= 0 && s.position <= this.nBatches)) {
      throw new GptuneError(`the saved data cursor is at batch ${s.position} of an epoch with ${this.nBatches}`);
    }
    this.pos = s.position;
  }

  private get rows(): number {
    return this.rowStart ? this.rowStart.length - 1 : this.order.length;
  }

  // This epoch's order (and packing) from the epoch's rng state alone, so restore() can redo it.
  private plan(): void {
    const n = this.dataset.size;
    const rng = new Rng(this.epochRng);
    const order = epochOrder(n, rng, this.opts.shuffle);
    this.nextEpochRng = rng.state;
    if (this.opts.packing) {
      const lengths = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        lengths[i] = this.dataset.length(order[i]);
        this.checkLength(order[i], lengths[i]);
      }
      const p = firstFitPack(lengths, this.opts.seqLen);
      this.order = p.order.map((k) => order[k]);
      this.rowStart = p.rowStart;
    } else {
      this.order = order;
      this.rowStart = null;
    }
    const rows = this.rows, bs = this.opts.batchSize;
    this.nBatches = this.opts.dropLast ? Math.floor(rows / bs) : Math.ceil(rows / bs);
  }

  private checkLength(i: number, len: number): void {
    if (len > this.opts.seqLen) throw new GptuneError(`example ${i} has ${len} tokens, more than seqLen ${this.opts.seqLen}; truncate it when loading`);
    if (len === 0) throw new GptuneError(`example ${i} is empty`);
  }

  private batchAt(k: number): Batch {
    const bs = this.opts.batchSize;
    const r0 = k * bs, r1 = Math.min(this.rows, r0 + bs);
    const rows: Example[][] = [];
    for (let r = r0; r < r1; r++) {
      const [a, b] = this.rowStart ? [this.rowStart[r], this.rowStart[r + 1]] : [r, r + 1];
      const row: Example[] = [];
      for (let j = a; j < b; j++) {
        const ex = this.dataset.get(this.order[j]);
        if (!this.rowStart) this.checkLength(this.order[j], ex.inputIds.length);
        row.push(ex);
      }
      rows.push(row);
    }
    const { padId, seqLen, padTo, packing } = this.opts;
    return collate(rows, { padId, seqLen, padTo, packed: packing });
  }
}

/** One pass over a dataset in order (validation, perplexity): the last batch may be smaller. */
export function* evalBatches(dataset: SequenceDataset, opts: Omit<BatchOptions, 'shuffle' | 'seed' | 'dropLast'>): Generator<Batch> {
  const it = new Batches(dataset, { ...opts, shuffle: false, dropLast: false });
  for (let k = 0; k < it.batchesPerEpoch; k++) yield it.next();
}

/** 0..n-1, shuffled (Fisher-Yates, drawing from rng) when asked: one epoch's row order. */
export function epochOrder(n: number, rng: Rng, shuffle: boolean): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (shuffle) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i]; order[i] = order[j]; order[j] = t;
    }
  }
  return order;
}
