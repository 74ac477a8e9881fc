// The Llama family with Hugging Face's LlamaForCausalLM semantics: RMSNorm, rotary embeddings
// (rotate_half), SwiGLU, grouped-query attention. Qwen2 (q/k/v biases) and SmolLM (a Llama) share it.
// Parameters keep HF's names (model.layers.0.self_attn.q_proj.weight ...).
import { Module } from '../nn/module.js';
import { Embedding, Linear, RMSNorm } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { forwardBlock } from '../tensor/tape.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { silu } from '../tensor/ops/activations.js';
import { linear } from '../tensor/ops/linear.js';
import { reshape } from '../tensor/ops/layout.js';
import { attention, rope } from '../tensor/ops/attention.js';
import { Rng } from '../util/rng.js';
import type { CausalLM, ForwardOptions } from './causal_lm.js';
import { advanceCaches, attendCached, cachedLength, cachedPositions } from './kv_cache.js';

export interface LlamaConfig {
  model_type: 'llama' | 'qwen2' | 'mistral';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  /** q, k, v (and o for Llama) projections carry biases. */
  attention_bias: boolean;
  mlp_bias: boolean;
  hidden_act: string;
  bos_token_id?: number;
  eos_token_id?: number | number[];
}

export type RopeScaling =
  | { rope_type: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number }
  | { rope_type: 'linear'; factor: number };

function positiveInt(raw: Record<string, unknown>, key: string, source: string): number {
  const v = raw[key];
  if (!Number.isInteger(v) || (v as number) <= 0) throw new Error(`${source}: '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** Reads config.json for llama / qwen2 / mistral; refuses by name what would change the math unsupported. */
export function llamaConfigFrom(raw: Record<string, unknown>, source = 'config.json'): LlamaConfig {
  const type = raw.model_type as LlamaConfig['model_type'];
  const hidden = positiveInt(raw, 'hidden_size', source);
  const heads = positiveInt(raw, 'num_attention_heads', source);
  const kvHeads = raw.num_key_value_heads === undefined || raw.num_key_value_heads === null ? heads : positiveInt(raw, 'num_key_value_heads', source);
  if (heads % kvHeads !== 0) throw new Error(`${source}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = raw.head_dim === undefined || raw.head_dim === null ? hidden / heads : positiveInt(raw, 'head_dim', source);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new Error(`${source}: head_dim ${headDim} must be an even integer`);
  const act = (raw.hidden_act as string | undefined) ?? 'silu';
  if (act !== 'silu') throw new Error(`${source}: hidden_act '${act}' is not supported (silu is)`);
  if (raw.use_sliding_window === true) throw new Error(`${source}: 'use_sliding_window: true' is not supported`);
  if (type === 'mistral' && raw.sliding_window !== null && raw.sliding_window !== undefined) {
    throw new Error(`${source}: mistral's sliding_window ${JSON.stringify(raw.sliding_window)} is not supported (set it to null)`);
  }
  if (typeof raw.attention_dropout === 'number' && raw.attention_dropout > 0) {
    throw new Error(`${source}: attention_dropout ${raw.attention_dropout} is not supported (the fused attention has no dropout on probabilities)`);
  }
  return {
    ...raw, // unknown fields are kept, so a saved config.json round-trips
    model_type: type,
    vocab_size: positiveInt(raw, 'vocab_size', source),
    hidden_size: hidden,
    intermediate_size: positiveInt(raw, 'intermediate_size', source),
    num_hidden_layers: positiveInt(raw, 'num_hidden_layers', source),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rms_norm_eps: (raw.rms_norm_eps as number | undefined) ?? 1e-6,
    rope_theta: (raw.rope_theta as number | undefined) ?? 10000,
    rope_scaling: ropeScalingFrom(raw.rope_scaling, source),
    max_position_embeddings: (raw.max_position_embeddings as number | undefined) ?? 2048,
    tie_word_embeddings: (raw.tie_word_embeddings as boolean | undefined) ?? false,
    // Qwen2 always has q/k/v biases (and no o_proj bias); Llama says so in attention_bias.
    attention_bias: type === 'qwen2' ? true : Boolean(raw.attention_bias),
    mlp_bias: Boolean(raw.mlp_bias),
    hidden_act: act,
    bos_token_id: raw.bos_token_id as number | undefined,
    eos_token_id: raw.eos_token_id as number | number[] | undefined,
  } as LlamaConfig;
}

function ropeScalingFrom(v: unknown, source: string): RopeScaling | null {
  if (v === null || v === undefined) return null;
  const s = v as Record<string, unknown>;
  const type = (s.rope_type ?? s.type) as string;
  if (type === 'default') return null;
  if (type === 'llama3') {
    for (const k of ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']) {
      if (typeof s[k] !== 'number') throw new Error(`${source}: rope_scaling (llama3) needs a number '${k}'`);
    }
    return { rope_type: 'llama3', factor: s.factor as number, low_freq_factor: s.low_freq_factor as number, high_freq_factor: s.high_freq_factor as number, original_max_position_embeddings: s.original_max_position_embeddings as number };
  }
  if (type === 'linear') {
    if (typeof s.factor !== 'number') throw new Error(`${source}: rope_scaling (linear) needs a number 'factor'`);
    return { rope_type: 'linear', factor: s.factor };
  }
  throw new Error(`${source}: rope_scaling type '${type}' is not supported (llama3 and linear are)`);
}

/** Rotary inverse frequencies, with the llama3 / linear scaling of HF's rope init functions. */
export function ropeInvFreq(cfg: LlamaConfig): Float64Array {
  const D = cfg.head_dim, half = D / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.pow(cfg.rope_theta, (2 * j) / D);
  const s = cfg.rope_scaling;
  if (s?.rope_type === 'linear') for (let j = 0; j < half; j++) inv[j] /= s.factor;
  if (s?.rope_type === 'llama3') {
    const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
    const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
    for (let j = 0; j < half; j++) {
      const wavelen = (2 * Math.PI) / inv[j];
      if (wavelen > lowWavelen) inv[j] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        inv[j] = (1 - smooth) * (inv[j] / s.factor) + smooth * inv[j];
      }
    }
  }
  return inv;
}

/** cos/sin tables [positions, D/2], grown on demand (Llama 3's 128K context would be 64 MB up front). */
class RopeTables {
  cos = new Float32Array(0);
  sin = new Float32Array(0);
  private rows = 0;
  constructor(private inv: Float64Array) {}
  ensure(positions: number): void {
    if (positions <= this.rows) return;
    const rows = Math.max(positions, this.rows * 2, 256), half = this.inv.length;
    this.cos = new Float32Array(rows * half);
    this.sin = new Float32Array(rows * half);
    for (let p = 0; p < rows; p++) {
      for (let j = 0; j < half; j++) {
        const a = Math.fround(p * Math.fround(this.inv[j])); // f32 angle, as HF computes it
        this.cos[p * half + j] = Math.cos(a);
        this.sin[p * half + j] = Math.sin(a);
      }
    }
    this.rows = rows;
  }
}

class LlamaAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  constructor(readonly cfg: LlamaConfig, readonly layer: number) {
    super();
    const C = cfg.hidden_size, D = cfg.head_dim, qkvBias = cfg.attention_bias;
    this.q_proj = new Linear(C, cfg.num_attention_heads * D, { bias: qkvBias });
    this.k_proj = new Linear(C, cfg.num_key_value_heads * D, { bias: qkvBias });
    this.v_proj = new Linear(C, cfg.num_key_value_heads * D, { bias: qkvBias });
    this.o_proj = new Linear(cfg.num_attention_heads * D, C, { bias: cfg.model_type !== 'qwen2' && cfg.attention_bias });
  }
  forward(x: Tensor, positions: Int32Array, tables: RopeTables, opts: ForwardOptions): Tensor {
    const [B, T] = x.shape;
    const { num_attention_heads: H, num_key_value_heads: KVH, head_dim: D } = this.cfg;
    const q = rope(reshape(this.q_proj.forward(x), [B, T, H, D]), tables.cos, tables.sin, positions);
    const k = rope(reshape(this.k_proj.forward(x), [B, T, KVH, D]), tables.cos, tables.sin, positions);
    const v = reshape(this.v_proj.forward(x), [B, T, KVH, D]);
    const scale = 1 / Math.sqrt(D);
    const y = attendCached(opts, this.layer, q, k, v, scale)
      ?? attention(q, k, v, { causal: true, segments: opts.segments ?? null, scale });
    return this.o_proj.forward(reshape(y, [B, T, H * D]));
  }
}

class LlamaMLP extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  constructor(cfg: LlamaConfig) {
    super();
    const C = cfg.hidden_size, I = cfg.intermediate_size, bias = cfg.mlp_bias;
    this.gate_proj = new Linear(C, I, { bias });
    this.up_proj = new Linear(C, I, { bias });
    this.down_proj = new Linear(I, C, { bias });
  }
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(mul(silu(this.gate_proj.forward(x)), this.up_proj.forward(x)));
  }
}

class LlamaDecoderLayer extends Module {
  input_layernorm: RMSNorm;
  self_attn: LlamaAttention;
  post_attention_layernorm: RMSNorm;
  mlp: LlamaMLP;
  constructor(cfg: LlamaConfig, layer: number) {
    super();
    this.input_layernorm = new RMSNorm(cfg.hidden_size, cfg.rms_norm_eps);
    this.self_attn = new LlamaAttention(cfg, layer);
    this.post_attention_layernorm = new RMSNorm(cfg.hidden_size, cfg.rms_norm_eps);
    this.mlp = new LlamaMLP(cfg);
  }
  forward(x: Tensor, positions: Int32Array, tables: RopeTables, opts: ForwardOptions): Tensor {
    x = add(x, this.self_attn.forward(this.input_layernorm.forward(x), positions, tables, opts));
    return add(x, this.mlp.forward(this.post_attention_layernorm.forward(x)));
  }
}

class LlamaModel extends Module {
  embed_tokens: Embedding;
  layers: LlamaDecoderLayer[];
  norm: RMSNorm;
  constructor(cfg: LlamaConfig) {
    super();
    this.embed_tokens = new Embedding(cfg.vocab_size, cfg.hidden_size);
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(cfg, i));
    this.norm = new RMSNorm(cfg.hidden_size, cfg.rms_norm_eps);
  }
}

export class LlamaForCausalLM extends Module implements CausalLM {
  readonly architecture = 'llama';
  model: LlamaModel;
  lm_head: Linear | null = null;
  dropoutSeed = 0;
  private readonly tables: RopeTables;

  constructor(readonly config: LlamaConfig) {
    super();
    this.model = new LlamaModel(config);
    if (!config.tie_word_embeddings) this.lm_head = new Linear(config.hidden_size, config.vocab_size, { bias: false });
    this.tables = new RopeTables(ropeInvFreq(config));
  }

  get vocabSize(): number { return this.config.vocab_size; }
  get maxPositions(): number { return this.config.max_position_embeddings; }
  get numLayers(): number { return this.config.num_hidden_layers; }
  get kvShape(): { kvHeads: number; headDim: number } {
    return { kvHeads: this.config.num_key_value_heads, headDim: this.config.head_dim };
  }

  /** ids [B*T] -> logits [B, T, vocab]. */
  forward(ids: Int32Array, batch: number, seqLen: number, opts: ForwardOptions = {}): Tensor {
    return linear(this.hiddenStates(ids, batch, seqLen, opts), this.outputWeight, null, 'out_in');
  }

  /** The lm_head's weight [vocab, hidden] (the embedding table when tied). */
  get outputWeight(): Tensor { return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight; }

  /** ids [B*T] -> the final norm's output [B, T, hidden], the lm_head's input. */
  hiddenStates(ids: Int32Array, batch: number, seqLen: number, opts: ForwardOptions = {}): Tensor {
    const past = cachedLength(opts);
    if (past + seqLen > this.config.max_position_embeddings) {
      throw new RangeError(`${this.config.model_type}: ${past + seqLen} positions exceed max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    const positions = opts.positions ?? cachedPositions(opts, batch, seqLen);
    let maxPos = 0;
    for (let i = 0; i < batch * seqLen; i++) if (positions[i] > maxPos) maxPos = positions[i];
    this.tables.ensure(maxPos + 1);
    let x = this.model.embed_tokens.forward(ids, [batch, seqLen]);
    for (const layer of this.model.layers) {
      const input = x;
      x = forwardBlock(() => layer.forward(input, positions, this.tables, opts));
    }
    x = this.model.norm.forward(x);
    advanceCaches(opts, seqLen);
    return x;
  }

  /** HF's _init_weights: N(0, initializer_range) for linear and embedding weights, zero biases, unit norms. */
  initWeights(seed: number): void {
    const rng = new Rng(seed);
    const std = ((this.config as unknown as Record<string, unknown>).initializer_range as number | undefined) ?? 0.02;
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('norm.weight')) p.data.fill(1);
      else if (name.endsWith('.bias')) p.data.fill(0);
      else rng.fillNormal(p.data, std);
    }
  }

  static mapWeightName(key: string): string | null {
    if (key.endsWith('.rotary_emb.inv_freq')) return null; // a buffer older checkpoints saved
    return key;
  }
}
