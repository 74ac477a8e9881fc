// What every decoder-only architecture offers the trainer, the generator and the evaluator.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DropoutRows } from '../tensor/ops/dropout.js';
import type { KVCache } from './kv_cache.js';

export interface ForwardOptions {
  /** [B*T] position ids (restarting per example when packed); default 0..T-1 after the cache. */
  positions?: Int32Array;
  /** [B*T] segment ids: attention stays within a segment (packed examples). */
  segments?: Int32Array | null;
  /** Generation: keys and values of earlier tokens; forward appends this call's tokens. */
  cache?: KVCache;
  /** Seeds this forward's dropout masks (the trainer gives one per micro-batch, so runs replay exactly); default 0. */
  dropoutSeed?: number;
  /** Data-parallel: this batch is rows first..first+count-1 of the global one; dropout masks are the global batch's rows. */
  dropoutRows?: DropoutRows;
  /** Recompute each block's forward during backward instead of keeping its activations. */
  gradientCheckpointing?: boolean;
  /**
   * Batched decoding of independent sequences: one cache per batch row, each at its own length
   * (rows continue their own positions). Exclusive with `cache`.
   */
  rowCaches?: readonly KVCache[];
}

export interface CausalLM extends Module {
  readonly architecture: string;
  readonly config: { model_type: string; vocab_size: number };
  /** config.json as read (unknown keys and layout kept), what a save writes back. */
  readonly hfConfig: Record<string, unknown>;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly numLayers: number;
  /** windows[layer]: that layer's sliding window (null or absent: full attention), sizing its cache. */
  readonly kvShape: { kvHeads: number; headDim: number; windows?: readonly (number | null)[] };
  /** ids [B*T] -> logits [B, T, vocab]. */
  forward(ids: Int32Array, batch: number, seqLen: number, opts?: ForwardOptions): Tensor;
  /** ids [B*T] -> the final norm's output [B, T, hidden]: forward() without the lm_head. */
  hiddenStates(ids: Int32Array, batch: number, seqLen: number, opts?: ForwardOptions): Tensor;
  /** The lm_head's weight [vocab, hidden], out_in layout (the embedding table when tied). */
  readonly outputWeight: Tensor;
  initWeights(seed: number): void;
}
