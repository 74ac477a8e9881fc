// The loss of a model with a task head, as Hugging Face's heads compute it: masked LM and token
// classification cross-entropy over positions (-100 ignored); sequence classification by problem_type
// (single-label CE, multi-label BCE-with-logits, regression MSE), inferred as HF does when unset.
import type { Tensor } from '../tensor/tensor.js';
import { crossEntropy } from '../tensor/ops/loss.js';
import { bceWithLogits, mseLoss } from '../tensor/ops/pointwise_loss.js';
import type { ProblemType, TaskModel } from '../models/task_model.js';
import { scale } from '../tensor/ops/elementwise.js';
import type { BatchLoss } from './trainer.js';

export interface TaskLossOptions {
  /** [num_labels] class weights for imbalanced data (CE: weighted mean; BCE: per-label weights). */
  classWeights?: Float32Array | null;
}

/** HF's rule when config.problem_type is unset: 1 label -> regression; integer labels -> single-label; else multi-label. */
export function problemTypeOf(model: Pick<TaskModel, 'labels' | 'numLabels'>, labels: Int32Array | Float32Array): ProblemType {
  if (model.labels.problemType) return model.labels.problemType;
  if (model.numLabels === 1) return 'regression';
  return labels instanceof Int32Array ? 'single_label_classification' : 'multi_label_classification';
}

/**
 * logits from model.forward; labels: seq_cls single-label [B] class ids, multi-label [B*L] 0/1 floats,
 * regression [B*L] floats; token_cls / masked_lm [B*T] ids with -100 ignored.
 */
export function taskLoss(model: TaskModel, logits: Tensor, labels: Int32Array | Float32Array, opts: TaskLossOptions = {}): Tensor {
  const weights = opts.classWeights ?? null;
  if (model.task !== 'seq_cls') {
    if (!(labels instanceof Int32Array)) throw new Error(`${model.architecture}: ${model.task} labels must be class ids`);
    return crossEntropy(logits, labels, { classWeights: model.task === 'token_cls' ? weights : null });
  }
  switch (problemTypeOf(model, labels)) {
    case 'single_label_classification':
      if (!(labels instanceof Int32Array)) throw new Error(`${model.architecture}: single-label classification takes one class id per row`);
      for (const y of labels) {
        if (y !== -100 && (y < 0 || y >= model.numLabels)) throw new RangeError(`${model.architecture}: label ${y} is outside 0..${model.numLabels - 1}`);
      }
      return crossEntropy(logits, labels, { classWeights: weights });
    case 'multi_label_classification':
      return bceWithLogits(logits, Float32Array.from(labels), weights);
    case 'regression':
      return mseLoss(logits, Float32Array.from(labels));
  }
}

/**
 * The trainer's BatchLoss for a task head: taskLoss's mean over the batch's targets, times the batch's
 * share of the step's targets (b.targetTokens / total), so accumulated micro-batches equal one batch.
 */
export function taskBatchLoss(model: TaskModel, opts: TaskLossOptions = {}): BatchLoss {
  return (b, forward, total) => {
    const logits = model.forward({ ids: b.inputIds, batch: b.batch, seqLen: b.seqLen, attentionMask: b.attentionMask, tokenTypeIds: b.tokenTypeIds,
      dropoutSeed: forward?.dropoutSeed, gradientCheckpointing: forward?.gradientCheckpointing });
    const loss = taskLoss(model, logits, b.floatLabels ?? b.labels, opts);
    return total > 0 ? scale(loss, b.targetTokens / total) : scale(loss, 0);
  };
}
