// A resumable batch source over fixed micro-batches, cycling in order (for trainer tests).
import type { BatchSource, TrainBatch } from '../../src/train/trainer.js';
import { countTargets } from '../../src/train/losses.js';

export function makeBatch(rows: number[][], labels?: number[][]): TrainBatch {
  const B = rows.length, T = rows[0].length;
  const inputIds = Int32Array.from(rows.flat());
  const lab = Int32Array.from((labels ?? rows).flat());
  return { inputIds, labels: lab, batch: B, seqLen: T, positions: null, segments: null, targetTokens: countTargets(lab, B, T) };
}

export class ArrayBatches implements BatchSource {
  private i = 0;
  constructor(private batches: TrainBatch[]) {}
  next(): TrainBatch { return this.batches[this.i++ % this.batches.length]; }
  state(): unknown { return { i: this.i }; }
  restore(s: unknown): void { this.i = (s as { i: number }).i; }
}
