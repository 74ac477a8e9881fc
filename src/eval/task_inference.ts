// A task model run over classification rows in padded batches without gradients: the one loop that
// `gptune eval` (loss and metrics) and `gptune predict` (probabilities) share.
import { padClassificationBatch, type ClassificationBatch, type ClassificationRow, type ProblemType } from '../data/classification.js';
import type { TaskInput, TaskModel } from '../models/task_model.js';
import { noGrad } from '../tensor/tape.js';
import type { Tensor } from '../tensor/tensor.js';

export interface TaskBatchOutput {
  batch: ClassificationBatch;
  /** seq_cls: [B, numLabels]; token_cls: [B, T, numLabels]. */
  logits: Tensor;
  /** Index of the batch's first row in `rows`. */
  start: number;
}

export interface TaskInferenceOptions {
  batchSize: number;
  padId: number;
  /** Keeps regression targets as floats (padClassificationBatch). */
  problemType?: ProblemType;
}

/** The model in eval mode (no dropout), batches of rows in order; fn sees each batch's logits. */
export function forEachTaskBatch(model: TaskModel, rows: readonly ClassificationRow[], opts: TaskInferenceOptions, fn: (out: TaskBatchOutput) => void): void {
  model.eval();
  noGrad(() => {
    for (let start = 0; start < rows.length; start += opts.batchSize) {
      const batch = padClassificationBatch(rows.slice(start, start + opts.batchSize), opts.padId, opts.problemType);
      fn({ batch, logits: model.forward(taskInputOf(batch)), start });
    }
  });
}

export function taskInputOf(b: ClassificationBatch): TaskInput {
  return { ids: b.inputIds, batch: b.batchSize, seqLen: b.seqLen, attentionMask: Int32Array.from(b.attentionMask), tokenTypeIds: b.tokenTypeIds };
}

/** Row-wise softmax of [N, L] logits (max subtracted), in float64 then stored as numbers. */
export function softmaxRow(logits: ArrayLike<number>, offset: number, L: number): number[] {
  let max = -Infinity;
  for (let j = 0; j < L; j++) max = Math.max(max, logits[offset + j]);
  const e = Array.from({ length: L }, (_, j) => Math.exp(logits[offset + j] - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Index of the largest of L values at offset (the first on ties, as torch.argmax). */
export function argmaxRow(logits: ArrayLike<number>, offset: number, L: number): number {
  let best = 0;
  for (let j = 1; j < L; j++) if (logits[offset + j] > logits[offset + best]) best = j;
  return best;
}
