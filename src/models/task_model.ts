// What a model with a task head (sequence / token classification, masked LM) offers the trainer,
// the evaluator and `gptune predict`: encoders (BERT family) and decoders with a score head alike.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { withDropoutSeed } from '../tensor/ops/dropout.js';
import type { TaskLabels } from './task_config.js';

export type TaskKind = 'seq_cls' | 'token_cls' | 'masked_lm';
/** Hugging Face's config.problem_type: which loss a sequence-classification head trains with. */
export type ProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression';

export interface TaskInput {
  /** [B*T] token ids. */
  ids: Int32Array;
  batch: number;
  seqLen: number;
  /** [B*T] 1 = token, 0 = padding; null = no padding. */
  attentionMask?: Int32Array | null;
  /** [B*T] segment A/B ids (BERT); null = all 0. */
  tokenTypeIds?: Int32Array | null;
  /** Seeds this forward's dropout masks, the head's too (the trainer gives one per micro-batch). */
  dropoutSeed?: number;
  /** Recompute each block's forward during backward instead of keeping its activations. */
  gradientCheckpointing?: boolean;
}

export interface TaskModel extends Module {
  /** Hugging Face's class name, saved as config.architectures[0] (BertForSequenceClassification ...). */
  readonly architecture: string;
  readonly task: TaskKind;
  /** config.json as read (unknown keys kept), what a save writes back. */
  readonly hfConfig: Record<string, unknown>;
  /** Class names by id, and problem_type (masked LM: unused). */
  readonly labels: TaskLabels;
  /** Outputs per position: num_labels for the classifiers, vocab_size for masked LM. */
  readonly numLabels: number;
  readonly maxPositions: number;
  /** seq_cls: [B, numLabels]; token_cls: [B, T, numLabels]; masked_lm: [B, T, vocab]. */
  forward(input: TaskInput): Tensor;
  /** Head parameters (names) a checkpoint without this head leaves to initWeights (HF's "newly initialized"). */
  readonly headParameterPrefixes: readonly string[];
  /** Hugging Face's _init_weights for the named parameters: N(0, initializer_range), biases 0, norms 1. */
  initWeights(seed: number, names?: ReadonlySet<string>): void;
}

/**
 * A padded batch with its padding taken out: the real tokens of every row, in order, as one packed
 * sequence [1, N] whose attention segments are the rows, so a token sees exactly its own row's real
 * tokens (Hugging Face's key-padding mask) and no work is spent on padding.
 */
export interface PackedTokens {
  /** [N] flat position b * T + t of each real token. */
  index: Int32Array;
  /** [N] the row b of each real token: the attention segments of the packed sequence. */
  segments: Int32Array;
  /** Padded positions, B * T. */
  padded: number;
}

/** Packs the real tokens of a [B, T] mask; null when nothing is padded (or nothing is left). */
export function packTokens(mask: Int32Array | null | undefined, batch: number, seqLen: number): PackedTokens | null {
  const n = batch * seqLen;
  if (!mask) return null;
  if (mask.length < n) throw new Error(`attention_mask has ${mask.length} entries, needs ${n}`);
  let real = 0;
  for (let i = 0; i < n; i++) if (mask[i] !== 0) real++;
  if (real === n || real === 0) return null;
  const index = new Int32Array(real), segments = new Int32Array(real);
  for (let i = 0, j = 0; i < n; i++) {
    if (mask[i] === 0) continue;
    index[j] = i;
    segments[j++] = Math.floor(i / seqLen);
  }
  return { index, segments, padded: n };
}

/**
 * Runs a task model's whole forward (trunk and head) in one dropout scope seeded by input.dropoutSeed,
 * so the head's masks replay with the seed too; the trunk, given no seed of its own, draws in this scope.
 */
export function seededForward(input: TaskInput, fn: (input: TaskInput) => Tensor): Tensor {
  if (input.dropoutSeed === undefined) return fn(input);
  return withDropoutSeed(input.dropoutSeed, () => fn({ ...input, dropoutSeed: undefined }));
}
