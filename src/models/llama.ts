// The Llama family with Hugging Face's LlamaForCausalLM semantics: RMSNorm, rotary embeddings
// (rotate_half), SwiGLU, grouped-query attention. Qwen2 (q/k/v biases), Qwen3 (q/k norms, see
// qwen3.ts), Mistral (sliding window) and SmolLM (a Llama) share it.
// Parameters keep HF's names (model.layers.0.self_attn.q_proj.weight ...).
import { Module } from '../nn/module.js';
import { Embedding, Linear, RMSNorm } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { runBlocks } from '../tensor/blocks.js';
import { add, mul } from '../tensor/ops/elementwise.js';
import { silu } from '../tensor/ops/activations.js';
import { linear } from '../tensor/ops/linear.js';
import { reshape } from '../tensor/ops/layout.js';
import { attention, rope } from '../tensor/ops/attention.js';
import { Rng } from '../util/rng.js';
import type { CausalLM, ForwardOptions } from './causal_lm.js';
import { advanceCaches, attendCached, cachedLength, cachedPositions } from './kv_cache.js';
import { ModelConfig, type RopeParameters } from '../formats/hf_config.js';

export interface LlamaConfig {
  model_type: 'llama' | 'qwen2' | 'mistral' | 'qwen3';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  /** Resolved from rope_parameters (transformers 5) or rope_theta + rope_scaling (4.x). */
  rope: RopeParameters;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  /** q, k, v (and o for Llama) projections carry biases. */
  attention_bias: boolean;
  mlp_bias: boolean;
  initializer_range: number;
  /** Qwen3: per-head RMSNorm on queries and keys before RoPE (q_norm, k_norm). */
  qk_norm: boolean;
  /** Per layer: its sliding window (keys s > t - window), or null for full attention. */
  layer_windows: (number | null)[];
  /** nn.Embedding's padding_idx: that row of embed_tokens gets no gradient from lookups. */
  pad_token_id: number | null;
}

/**
 * How each config.json field of transformers 5's LlamaConfig / Qwen2Config / MistralConfig is treated:
 * read into LlamaConfig, not changing the numbers (ids, cache and bookkeeping switches), or refused
 * when set to a value gptune does not implement. test/models/config_fields.test.ts walks them.
 */
export const LLAMA_CONFIG_FIELDS = {
  used: ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
    'head_dim', 'rms_norm_eps', 'rope_parameters', 'max_position_embeddings', 'tie_word_embeddings', 'attention_bias', 'mlp_bias',
    'initializer_range', 'pad_token_id', 'use_sliding_window', 'sliding_window', 'layer_types', 'max_window_layers'],
  neutral: ['bos_token_id', 'eos_token_id', 'use_cache', 'pretraining_tp'],
  refused: ['hidden_act', 'attention_dropout', 'partial_rotary_factor'],
} as const;

function positiveInt(c: ModelConfig, key: string, def?: number): number {
  const v = c.int(key, def);
  if (v <= 0) c.refuse(key, 'must be a positive integer');
  return v;
}

/** Reads config.json for llama / qwen2 / mistral; refuses by name what would change the math unsupported. */
export function llamaConfigFrom(raw: Record<string, unknown>, source = 'config.json'): LlamaConfig {
  const c = new ModelConfig(raw, source);
  const type = c.modelType as LlamaConfig['model_type'];
  const hidden = positiveInt(c, 'hidden_size');
  const heads = positiveInt(c, 'num_attention_heads');
  const kvHeads = positiveInt(c, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) c.refuse('num_key_value_heads', `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  // Qwen3Config's head_dim defaults to 128, not hidden_size / heads.
  const headDim = c.optInt('head_dim') ?? (type === 'qwen3' ? 128 : hidden / heads);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) c.refuse('head_dim', `head_dim ${headDim} must be an even integer`);
  c.refuseUnless('hidden_act', (v) => v === 'silu', 'silu is the only activation implemented');
  c.refuseUnless('attention_dropout', (v) => v === 0, 'the fused attention has no dropout on probabilities');
  c.refuseUnless('partial_rotary_factor', (v) => v === 1, 'rotary over the whole head only');
  // Qwen2 always has q/k/v biases (and no o_proj bias); Llama says so in attention_bias.
  if (type === 'qwen3') c.refuseUnless('attention_bias', (v) => v === false, 'Qwen3 with q/k/v biases is not implemented');
  if (type !== 'llama' && type !== 'qwen3') c.refuseUnless('attention_bias', (v) => v === false, `${type} has no attention_bias switch in transformers`);
  if (type !== 'llama' && type !== 'qwen3') c.refuseUnless('mlp_bias', (v) => v === false, `${type} has no mlp_bias switch in transformers`);
  const layers = positiveInt(c, 'num_hidden_layers');
  return {
    model_type: type,
    vocab_size: positiveInt(c, 'vocab_size'),
    hidden_size: hidden,
    intermediate_size: positiveInt(c, 'intermediate_size'),
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rms_norm_eps: c.number('rms_norm_eps', 1e-6),
    rope: c.ropeParameters(DEFAULT_THETA[type] ?? 10000),
    max_position_embeddings: positiveInt(c, 'max_position_embeddings', DEFAULT_MAX_POSITIONS[type] ?? 2048),
    tie_word_embeddings: c.bool('tie_word_embeddings', false),
    attention_bias: type === 'qwen2' ? true : c.bool('attention_bias', false),
    mlp_bias: c.bool('mlp_bias', false),
    initializer_range: c.number('initializer_range', 0.02),
    qk_norm: type === 'qwen3',
    layer_windows: layerWindowsFrom(c, layers),
    pad_token_id: c.optInt('pad_token_id') ?? null,
  };
}

/**
 * Which layers attend through a sliding window, as HF's configs say it: Mistral's sliding_window on
 * every layer (MistralConfig defaults it to 4096 and ignores layer_types); Qwen's (use_sliding_window)
 * on the layer_types marked 'sliding_attention', else on the layers from max_window_layers on.
 */
export function layerWindowsFrom(c: ModelConfig, layers: number): (number | null)[] {
  const mistral = c.modelType === 'mistral';
  const w = mistral && c.raw.sliding_window === undefined ? 4096 : c.optInt('sliding_window');
  if (w !== undefined && w <= 0) c.refuse('sliding_window', 'must be a positive integer or null');
  if (w === undefined || !(mistral || c.bool('use_sliding_window', false))) return new Array(layers).fill(null);
  if (mistral) return new Array(layers).fill(w);
  const types = c.stringList('layer_types');
  if (types.length) {
    if (types.length !== layers) c.refuse('layer_types', `${types.length} entries for ${layers} layers`);
    return types.map((t) => {
      if (t === 'sliding_attention') return w;
      if (t === 'full_attention') return null;
      return c.refuse('layer_types', `layer type '${t}' (sliding_attention, full_attention are)`);
    });
  }
  const from = c.optInt('max_window_layers') ?? layers;
  return Array.from({ length: layers }, (_, i) => (i >= from ? w : null));
}

/** A config.json (transformers 5 layout) for a model built from a typed config alone. */
export function llamaHfConfig(cfg: LlamaConfig): Record<string, unknown> {
  // qk_norm and layer_windows are gptune's readings of model_type and the window fields, not HF keys.
  const { rope, qk_norm: _q, layer_windows: windows, ...rest } = cfg;
  const window = windows.find((w) => w !== null) ?? null;
  return { ...rest, rope_parameters: { ...rope }, ...(window !== null ? { sliding_window: window, layer_types: windows.map((w) => (w === null ? 'full_attention' : 'sliding_attention')), use_sliding_window: true } : {}) };
}

// transformers 5's class defaults, used only when config.json omits the field.
const DEFAULT_THETA: Record<string, number> = { llama: 10000, qwen2: 10000, mistral: 10000, qwen3: 10000 };
const DEFAULT_MAX_POSITIONS: Record<string, number> = { llama: 2048, qwen2: 32768, mistral: 4096 * 32, qwen3: 32768 };

/**
 * Rotary inverse frequencies [D/2] and the factor cos/sin are scaled by, as transformers' rope init
 * functions compute them; `seqLen` is the longest position + 1 of a forward (dynamic NTK grows the base).
 */
export function ropeInvFreq(cfg: Pick<LlamaConfig, 'head_dim' | 'rope' | 'max_position_embeddings'>, seqLen = 0): { inv: Float64Array; scale: number } {
  const D = cfg.head_dim, half = D / 2, s = cfg.rope;
  const inv = new Float64Array(half);
  let base = s.rope_theta;
  if (s.rope_type === 'dynamic') {
    const orig = cfg.max_position_embeddings, len = Math.max(seqLen, orig);
    base *= Math.pow((s.factor * len) / orig - (s.factor - 1), D / (D - 2));
  }
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.fround(Math.pow(base, Math.fround((2 * j) / D)));
  if (s.rope_type === 'linear') for (let j = 0; j < half; j++) inv[j] /= s.factor;
  if (s.rope_type === 'llama3') {
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
  if (s.rope_type === 'yarn') return yarnInvFreq(D, s);
  return { inv, scale: 1 };
}

/** transformers' _compute_yarn_parameters: interpolate low frequencies, keep high ones, ramp between. */
function yarnInvFreq(D: number, s: Extract<RopeParameters, { rope_type: 'yarn' }>): { inv: Float64Array; scale: number } {
  const half = D / 2, base = s.rope_theta, factor = s.factor;
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const scale = s.attention_factor ?? (s.mscale && s.mscale_all_dim ? mscale(factor, s.mscale) / mscale(factor, s.mscale_all_dim) : mscale(factor));
  const corrDim = (rot: number) => (D * Math.log(s.original_max_position_embeddings / (rot * 2 * Math.PI))) / (2 * Math.log(base));
  let low = corrDim(s.beta_fast), high = corrDim(s.beta_slow);
  if (s.truncate) { low = Math.floor(low); high = Math.ceil(high); }
  low = Math.max(low, 0); high = Math.min(high, D - 1);
  if (low === high) high += 0.001;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) {
    const pos = Math.fround(Math.pow(base, Math.fround((2 * j) / D)));
    const extrapolation = 1 / pos, interpolation = 1 / (factor * pos);
    const ramp = Math.min(1, Math.max(0, (j - low) / (high - low)));
    const keep = 1 - ramp; // inv_freq_extrapolation_factor
    inv[j] = interpolation * (1 - keep) + extrapolation * keep;
  }
  return { inv, scale };
}

/**
 * cos/sin tables [positions, D/2] (times the yarn attention factor), grown on demand (Llama 3's 128K
 * context would be 64 MB up front). Dynamic NTK keeps transformers' state: frequencies follow the
 * longest sequence seen, back to the original ones when a forward fits the trained context.
 */
export class RopeTables {
  cos = new Float32Array(0);
  sin = new Float32Array(0);
  private rows = 0;
  private inv: Float64Array;
  private scale: number;
  private cachedLen: number;
  constructor(private cfg: Pick<LlamaConfig, 'head_dim' | 'rope' | 'max_position_embeddings'>) {
    ({ inv: this.inv, scale: this.scale } = ropeInvFreq(cfg));
    this.cachedLen = cfg.max_position_embeddings;
  }
  ensure(positions: number): void {
    if (this.cfg.rope.rope_type === 'dynamic') {
      const orig = this.cfg.max_position_embeddings;
      let changed = false;
      if (positions > this.cachedLen) { this.cachedLen = positions; changed = true; } // growth
      else if (positions < orig && this.cachedLen > orig) { this.cachedLen = orig; changed = true; } // reset
      if (changed) { this.inv = ropeInvFreq(this.cfg, this.cachedLen).inv; this.rows = 0; }
    }
    if (positions <= this.rows) return;
    const rows = Math.max(positions, this.rows * 2, 256), half = this.inv.length;
    this.cos = new Float32Array(rows * half);
    this.sin = new Float32Array(rows * half);
    for (let p = 0; p < rows; p++) {
      for (let j = 0; j < half; j++) {
        const a = Math.fround(p * Math.fround(this.inv[j])); // f32 angle, as HF computes it
        this.cos[p * half + j] = Math.fround(Math.cos(a)) * this.scale;
        this.sin[p * half + j] = Math.fround(Math.sin(a)) * this.scale;
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
  q_norm: RMSNorm | null = null; // Qwen3: over head_dim, before RoPE
  k_norm: RMSNorm | null = null;
  constructor(readonly cfg: LlamaConfig, readonly layer: number) {
    super();
    if (cfg.qk_norm) {
      this.q_norm = new RMSNorm(cfg.head_dim, cfg.rms_norm_eps);
      this.k_norm = new RMSNorm(cfg.head_dim, cfg.rms_norm_eps);
    }
    const C = cfg.hidden_size, D = cfg.head_dim, qkvBias = cfg.attention_bias;
    this.q_proj = new Linear(C, cfg.num_attention_heads * D, { bias: qkvBias });
    this.k_proj = new Linear(C, cfg.num_key_value_heads * D, { bias: qkvBias });
    this.v_proj = new Linear(C, cfg.num_key_value_heads * D, { bias: qkvBias });
    this.o_proj = new Linear(cfg.num_attention_heads * D, C, { bias: cfg.model_type !== 'qwen2' && cfg.attention_bias });
  }
  forward(x: Tensor, positions: Int32Array, tables: RopeTables, opts: ForwardOptions): Tensor {
    const [B, T] = x.shape;
    const { num_attention_heads: H, num_key_value_heads: KVH, head_dim: D } = this.cfg;
    let q = reshape(this.q_proj.forward(x), [B, T, H, D]);
    let k = reshape(this.k_proj.forward(x), [B, T, KVH, D]);
    if (this.q_norm && this.k_norm) { q = this.q_norm.forward(q); k = this.k_norm.forward(k); }
    q = rope(q, tables.cos, tables.sin, positions);
    k = rope(k, tables.cos, tables.sin, positions);
    const v = reshape(this.v_proj.forward(x), [B, T, KVH, D]);
    const scale = 1 / Math.sqrt(D);
    const window = this.cfg.layer_windows[this.layer];
    const y = attendCached(opts, this.layer, q, k, v, scale)
      ?? attention(q, k, v, { causal: true, segments: opts.segments ?? null, scale, window });
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
    this.embed_tokens = new Embedding(cfg.vocab_size, cfg.hidden_size, cfg.pad_token_id);
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(cfg, i));
    this.norm = new RMSNorm(cfg.hidden_size, cfg.rms_norm_eps);
  }
}

export class LlamaForCausalLM extends Module implements CausalLM {
  readonly architecture: string = 'llama';
  model: LlamaModel;
  lm_head: Linear | null = null;
  private readonly tables: RopeTables;

  /** hfConfig: config.json as read, saved back with the model's keys and layout. */
  constructor(readonly config: LlamaConfig, readonly hfConfig: Record<string, unknown> = llamaHfConfig(config)) {
    super();
    this.model = new LlamaModel(config);
    if (!config.tie_word_embeddings) this.lm_head = new Linear(config.hidden_size, config.vocab_size, { bias: false });
    this.tables = new RopeTables(config);
  }

  get vocabSize(): number { return this.config.vocab_size; }
  /** Dynamic NTK exists to run past the trained context: allow up to factor times it. */
  get maxPositions(): number {
    const r = this.config.rope;
    return this.config.max_position_embeddings * (r.rope_type === 'dynamic' ? r.factor : 1);
  }
  get numLayers(): number { return this.config.num_hidden_layers; }
  get kvShape(): { kvHeads: number; headDim: number; windows: (number | null)[] } {
    return { kvHeads: this.config.num_key_value_heads, headDim: this.config.head_dim, windows: this.config.layer_windows };
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
    if (past + seqLen > this.maxPositions) {
      throw new RangeError(`${this.config.model_type}: ${past + seqLen} positions exceed max_position_embeddings ${this.maxPositions}`);
    }
    const positions = opts.positions ?? cachedPositions(opts, batch, seqLen);
    let maxPos = 0;
    for (let i = 0; i < batch * seqLen; i++) if (positions[i] > maxPos) maxPos = positions[i];
    this.tables.ensure(maxPos + 1);
    const embed = () => this.model.embed_tokens.forward(ids, [batch, seqLen]);
    let x = runBlocks(opts, embed, this.model.layers, (layer, input) => layer.forward(input, positions, this.tables, opts));
    x = this.model.norm.forward(x);
    advanceCaches(opts, seqLen);
    return x;
  }

  /** HF's _init_weights: N(0, initializer_range) for linear and embedding weights, zero biases, unit norms. */
  initWeights(seed: number): void {
    const rng = new Rng(seed);
    const std = this.config.initializer_range;
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
