// What every decoder-only architecture offers the trainer, the generator and the evaluator.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { KVCache } from './kv_cache.js';

export interface ForwardOptions {
  /** [B*T] position ids (restarting per example when packed); default 0..T-1 after the cache. */
  positions?: Int32Array;
  /** [B*T] segment ids: attention stays within a segment (packed examples). */
  segments?: Int32Array | null;
  /** Generation: keys and values of earlier tokens; forward appends this call's tokens. */
  cache?: KVCache;
  /**
   * Batched decoding of independent sequences: one cache per batch row, each at its own length
   * (rows continue their own positions). Exclusive with `cache`.
   */
  rowCaches?: readonly KVCache[];
}

export interface CausalLM extends Module {
  readonly architecture: string;
  readonly config: { model_type: string; vocab_size: number };
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly numLayers: number;
  readonly kvShape: { kvHeads: number; headDim: number };
  dropoutSeed: number;
  /** ids [B*T] -> logits [B, T, vocab]. */
  forward(ids: Int32Array, batch: number, seqLen: number, opts?: ForwardOptions): Tensor;
  /** ids [B*T] -> the final norm's output [B, T, hidden]: forward() without the lm_head. */
  hiddenStates(ids: Int32Array, batch: number, seqLen: number, opts?: ForwardOptions): Tensor;
  /** The lm_head's weight [vocab, hidden], out_in layout (the embedding table when tied). */
  readonly outputWeight: Tensor;
  initWeights(seed: number): void;
}
