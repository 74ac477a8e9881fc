// `gptune eval` on a model with a sequence or token classification head: the mean loss the head trains
// with (HF Trainer's eval_loss), then accuracy, macro-F1, per-class precision/recall/F1 and the
// confusion matrix; entity F1 (seqeval) for token classification; micro/macro F1 for multi-label; MSE
// and Pearson for regression.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORE_INDEX, loadClassificationRows, type ClassificationRow, type ProblemType } from '../data/classification.js';
import { classificationReport, entityF1, multiLabelF1, regressionMetrics, type ClassMetrics, type EntityReport } from '../eval/classification_metrics.js';
import { argmaxRow, forEachTaskBatch, sigmoid } from '../eval/task_inference.js';
import { readModelConfig } from '../formats/hf_config.js';
import { isEncoderType, taskOfArchitectures } from '../models/registry.js';
import type { TaskModel } from '../models/task_model.js';
import { taskLoss } from '../train/task_losses.js';
import { GptuneError, UsageError } from '../util/errors.js';
import { openTaskModel, requireClassifier } from './task_open.js';

export interface ClassificationEvalOptions {
  model: string;
  adapter?: string;
  tokenizer?: string;
  data: string;
  batchSize: number;
  /** Tokens per row (special tokens included); default the model's positions. */
  maxLength?: number;
}

export interface ClassificationEvalResult {
  /** Which head was scored (tells this result from the causal-LM one). */
  head: 'seq_cls' | 'token_cls';
  problemType: ProblemType;
  /** Label names by class id. */
  labels: string[];
  rows: number;
  /** Rows cut to the max length (token classification: their cut words are not scored, as HF's run_ner). */
  truncated: number;
  /** Mean loss per scored row (sequence heads) or labelled token (token heads): CE, BCE or MSE by problem type. */
  loss: number;
  /** Single-label: rows; token classification: labelled first sub-tokens. */
  accuracy?: number;
  macroF1?: number;
  perClass?: Record<string, ClassMetrics>;
  /** confusionMatrix[gold][predicted], in label order. */
  confusionMatrix?: number[][];
  /** Multi-label, at probability >= 0.5. */
  microF1?: number;
  mse?: number;
  pearson?: number;
  /** Token classification: labelled tokens scored. */
  tokens?: number;
  /** Token classification with IOB2 names (O, B-X, I-X): exact-span entities, seqeval's default mode; null otherwise. */
  entity?: EntityReport | null;
}

/** Whether `gptune eval` scores this folder as a classifier: its config names a task head, or it is an encoder. */
export function isTaskHeadModel(dir: string): boolean {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return false;
  const raw = readModelConfig(path).raw;
  const task = taskOfArchitectures(raw);
  return task === 'seq_cls' || task === 'token_cls' || isEncoderType(raw.model_type);
}

/** The problem type the eval data is read as: the config's, else HF's rule (1 label: regression). */
export function dataProblemType(model: TaskModel): ProblemType {
  if (model.task === 'token_cls') return 'token_classification';
  return model.labels.problemType ?? (model.numLabels === 1 ? 'regression' : 'single_label_classification');
}

export function runClassificationEval(o: ClassificationEvalOptions): ClassificationEvalResult {
  const m = openTaskModel(o.model, { adapter: o.adapter, tokenizer: o.tokenizer });
  requireClassifier(m, 'gptune eval');
  const { model } = m;
  const head = model.task as 'seq_cls' | 'token_cls';
  const problemType = dataProblemType(model);
  const maxLength = Math.min(o.maxLength ?? model.maxPositions, model.maxPositions);
  const { rows, counts } = loadClassificationRows(o.data, { tokenizer: m.tok?.tokenizer ?? null, label2id: labelIds(model), maxLength, problemType });
  if (rows.length === 0) throw new GptuneError('no rows to evaluate', { file: o.data });
  checkRows(rows, model, o.data, problemType);

  const L = model.numLabels;
  let lossSum = 0, lossCount = 0;
  const pred: number[] = [], gold: number[] = [];                // single-label rows, or labelled tokens
  const probs: number[][] = [], multiGold: number[][] = [];      // multi-label
  const values: number[] = [], targets: number[] = [];           // regression (flattened over labels)
  const predTags: string[][] = [], goldTags: string[][] = [];    // token classification, per row
  forEachTaskBatch(model, rows, { batchSize: o.batchSize, padId: m.padId, problemType }, ({ batch, logits }) => {
    const labels = head === 'token_cls' ? batch.tokenLabels! : batch.labels!;
    const scored = head === 'token_cls' ? batch.tokenLabels!.reduce((n, y) => n + (y === IGNORE_INDEX ? 0 : 1), 0) : batch.batchSize;
    if (scored > 0) {
      lossSum += taskLoss(model, logits, labels).item() * scored;
      lossCount += scored;
    }
    const x = logits.data;
    for (let b = 0; b < batch.batchSize; b++) {
      if (head === 'token_cls') {
        const p: string[] = [], g: string[] = [];
        for (let t = 0; t < batch.seqLen; t++) {
          const y = batch.tokenLabels![b * batch.seqLen + t];
          if (y === IGNORE_INDEX) continue;
          const k = argmaxRow(x, (b * batch.seqLen + t) * L, L);
          pred.push(k); gold.push(y);
          p.push(model.labels.id2label[k]); g.push(model.labels.id2label[y]);
        }
        predTags.push(p); goldTags.push(g);
      } else if (problemType === 'single_label_classification') {
        pred.push(argmaxRow(x, b * L, L));
        gold.push(batch.labels![b]);
      } else if (problemType === 'multi_label_classification') {
        probs.push(Array.from({ length: L }, (_, j) => sigmoid(x[b * L + j])));
        multiGold.push(Array.from(batch.labels!.subarray(b * L, (b + 1) * L)));
      } else {
        for (let j = 0; j < L; j++) { values.push(x[b * L + j]); targets.push(batch.labels![b * L + j]); }
      }
    }
  });

  const out: ClassificationEvalResult = { head, problemType, labels: [...model.labels.id2label], rows: rows.length, truncated: counts.truncated, loss: lossCount ? lossSum / lossCount : NaN };
  const names = model.labels.id2label;
  if (problemType === 'single_label_classification' || head === 'token_cls') {
    const r = classificationReport(pred, gold, L);
    Object.assign(out, {
      accuracy: r.accuracy, macroF1: r.macroF1, confusionMatrix: r.confusion,
      perClass: Object.fromEntries(r.perClass.map((c, i) => [names[i], c])),
    });
  }
  if (head === 'token_cls') {
    out.tokens = gold.length;
    out.entity = isIob(names) ? entityF1(predTags, goldTags) : null;
  } else if (problemType === 'multi_label_classification') {
    Object.assign(out, multiLabelF1(probs, multiGold, 0.5));
  } else if (problemType === 'regression') {
    Object.assign(out, regressionMetrics(values, targets));
  }
  return out;
}

/** The model's label2id, from id2label (the names its outputs carry). */
export function labelIds(model: TaskModel): Record<string, number> {
  return Object.fromEntries(model.labels.id2label.map((n, i) => [n, i]));
}

/** Every row labelled, token ids inside the vocabulary: checked by file:line before any forward. */
function checkRows(rows: readonly ClassificationRow[], model: TaskModel, file: string, problemType: ProblemType): void {
  const vocab = typeof model.hfConfig.vocab_size === 'number' ? model.hfConfig.vocab_size : Infinity;
  for (const r of rows) {
    const where = { file, line: r.line };
    if (problemType !== 'token_classification' && r.label === null) throw new UsageError('the row has no label: eval needs labelled rows (gptune predict labels unlabelled ones)', where);
    const bad = r.inputIds.find((id) => id >= vocab);
    if (bad !== undefined) throw new GptuneError(`token id ${bad} is outside the vocabulary (0..${vocab - 1})`, { ...where, key: 'input_ids' });
  }
}

/** Label names in IOB2/IOBES form (O, B-PER, I-PER ...), which entity spans can be read from. */
function isIob(names: readonly string[]): boolean {
  return names.some((n) => n !== 'O') && names.every((n) => n === 'O' || /^[BIES]-./.test(n));
}
