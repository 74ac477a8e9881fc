// Gemma 3 text (model_type gemma3_text, or the text_config of a gemma3 checkpoint) with Hugging
// Face's Gemma3ForCausalLM semantics: embeddings scaled by sqrt(hidden), RMSNorm as x * (1 + w),
// four norms per block, GeGLU (tanh GELU), q/k norms, query_pre_attn_scalar, and sliding-window
// layers interleaved with global ones, each kind with its own RoPE base. Parameters keep HF's names.
import { Module } from '../nn/module.js';
import { Embedding, Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { runBlocks } from '../tensor/blocks.js';
import { add, mul, scale } from '../tensor/ops/elementwise.js';
import { gelu } from '../tensor/ops/activations.js';
import { linear } from '../tensor/ops/linear.js';
import { reshape } from '../tensor/ops/layout.js';
import { rmsNorm } from '../tensor/ops/norm.js';
import { attention, rope } from '../tensor/ops/attention.js';
import { ModelConfig, type RopeParameters } from '../formats/hf_config.js';
import { GptuneError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { CausalLM, ForwardOptions } from './causal_lm.js';
import { advanceCaches, attendCached, cachedLength, cachedPositions } from './kv_cache.js';
import { RopeTables } from './llama.js';

type LayerType = 'sliding_attention' | 'full_attention';

export interface Gemma3Config {
  model_type: 'gemma3_text';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  query_pre_attn_scalar: number;
  sliding_window: number;
  layer_types: LayerType[];
  /** RoPE per layer type: global layers rope_theta (+ scaling), local ones rope_local_base_freq. */
  rope: Record<LayerType, RopeParameters>;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  pad_token_id: number | null;
  initializer_range: number;
}

/** Reads config.json (gemma3_text, or gemma3 with its text_config); Gemma3TextConfig's defaults. */
export function gemma3ConfigFrom(raw: Record<string, unknown>, source = 'config.json'): Gemma3Config {
  if (raw.model_type === 'gemma3') {
    const text = raw.text_config;
    if (typeof text !== 'object' || text === null || Array.isArray(text)) throw new GptuneError('a gemma3 config needs a \'text_config\' object', { file: source, key: 'text_config' });
    const t = text as Record<string, unknown>;
    return gemma3ConfigFrom({ ...t, model_type: 'gemma3_text', tie_word_embeddings: raw.tie_word_embeddings ?? t.tie_word_embeddings }, `${source} (text_config)`);
  }
  const c = new ModelConfig(raw, source);
  for (const key of ['attn_logit_softcapping', 'final_logit_softcapping']) c.refuseUnless(key, (v) => v === null, 'soft-capping is Gemma 2\'s; Gemma 3 sets it to null');
  c.refuseUnless('use_bidirectional_attention', (v) => v === false, 'a causal LM attends causally');
  const actKey = c.has('hidden_activation') ? 'hidden_activation' : 'hidden_act';
  c.refuseUnless(actKey, (v) => v === 'gelu_pytorch_tanh' || v === 'gelu_new', 'gelu_pytorch_tanh is implemented');
  c.refuseUnless('attention_dropout', (v) => v === 0, 'the fused attention has no dropout on probabilities');
  const layers = c.int('num_hidden_layers', 26);
  const heads = c.int('num_attention_heads', 8);
  const kvHeads = c.int('num_key_value_heads', 4);
  if (heads % kvHeads !== 0) c.refuse('num_key_value_heads', `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = c.int('head_dim', 256);
  if (headDim % 2 !== 0) c.refuse('head_dim', 'must be even');
  const layerTypes = layerTypesFrom(c, layers);
  return {
    model_type: 'gemma3_text',
    vocab_size: c.int('vocab_size', 262208),
    hidden_size: c.int('hidden_size', 2304),
    intermediate_size: c.int('intermediate_size', 9216),
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rms_norm_eps: c.number('rms_norm_eps', 1e-6),
    query_pre_attn_scalar: c.number('query_pre_attn_scalar', 256),
    sliding_window: c.int('sliding_window', 4096),
    layer_types: layerTypes,
    // transformers 5: rope_parameters per layer type; 4.x: rope_theta (+ rope_scaling) global, rope_local_base_freq local.
    rope: c.ropeParametersPerLayerType(['full_attention', 'sliding_attention'], { full_attention: 1e6, sliding_attention: 1e4 }, { sliding_attention: 'rope_local_base_freq' }) as Gemma3Config['rope'],
    max_position_embeddings: c.int('max_position_embeddings', 131072),
    tie_word_embeddings: c.bool('tie_word_embeddings', true),
    attention_bias: c.bool('attention_bias', false),
    pad_token_id: c.optInt('pad_token_id') ?? null,
    initializer_range: c.number('initializer_range', 0.02),
  };
}

/** layer_types, else Gemma 3's sliding_window_pattern (default 6: five local layers, then a global one). */
function layerTypesFrom(c: ModelConfig, layers: number): LayerType[] {
  const types = c.stringList('layer_types');
  if (types.length) {
    if (types.length !== layers) c.refuse('layer_types', `${types.length} entries for ${layers} layers`);
    for (const t of types) if (t !== 'sliding_attention' && t !== 'full_attention') c.refuse('layer_types', `layer type '${t}' (sliding_attention, full_attention are)`);
    return types as LayerType[];
  }
  const pattern = c.int('sliding_window_pattern', 6);
  return Array.from({ length: layers }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'));
}

/** Gemma's RMSNorm: x / rms(x) * (1 + w) in float32 (weights are stored as offsets from one). */
class GemmaRMSNorm extends Module {
  weight: Tensor;
  private readonly one: Float32Array;
  constructor(readonly dim: number, readonly eps: number) {
    super();
    this.weight = Tensor.param(new Float32Array(dim), [dim]);
    this.one = new Float32Array(dim).fill(1);
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, add(this.weight, Tensor.from(this.one, [this.dim])), this.eps);
  }
}

class Gemma3Attention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  q_norm: GemmaRMSNorm;
  k_norm: GemmaRMSNorm;
  constructor(readonly cfg: Gemma3Config, readonly layer: number) {
    super();
    const C = cfg.hidden_size, D = cfg.head_dim, bias = cfg.attention_bias;
    this.q_proj = new Linear(C, cfg.num_attention_heads * D, { bias });
    this.k_proj = new Linear(C, cfg.num_key_value_heads * D, { bias });
    this.v_proj = new Linear(C, cfg.num_key_value_heads * D, { bias });
    this.o_proj = new Linear(cfg.num_attention_heads * D, C, { bias });
    this.q_norm = new GemmaRMSNorm(D, cfg.rms_norm_eps);
    this.k_norm = new GemmaRMSNorm(D, cfg.rms_norm_eps);
  }
  forward(x: Tensor, positions: Int32Array, tables: RopeTables, opts: ForwardOptions): Tensor {
    const [B, T] = x.shape;
    const { num_attention_heads: H, num_key_value_heads: KVH, head_dim: D } = this.cfg;
    const q = rope(this.q_norm.forward(reshape(this.q_proj.forward(x), [B, T, H, D])), tables.cos, tables.sin, positions);
    const k = rope(this.k_norm.forward(reshape(this.k_proj.forward(x), [B, T, KVH, D])), tables.cos, tables.sin, positions);
    const v = reshape(this.v_proj.forward(x), [B, T, KVH, D]);
    const s = Math.pow(this.cfg.query_pre_attn_scalar, -0.5);
    const window = this.cfg.layer_types[this.layer] === 'sliding_attention' ? this.cfg.sliding_window : null;
    const y = attendCached(opts, this.layer, q, k, v, s)
      ?? attention(q, k, v, { causal: true, segments: opts.segments ?? null, scale: s, window });
    return this.o_proj.forward(reshape(y, [B, T, H * D]));
  }
}

class Gemma3MLP extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  constructor(cfg: Gemma3Config) {
    super();
    const C = cfg.hidden_size, I = cfg.intermediate_size;
    this.gate_proj = new Linear(C, I, { bias: false });
    this.up_proj = new Linear(C, I, { bias: false });
    this.down_proj = new Linear(I, C, { bias: false });
  }
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(mul(gelu(this.gate_proj.forward(x)), this.up_proj.forward(x)));
  }
}

class Gemma3DecoderLayer extends Module {
  input_layernorm: GemmaRMSNorm;
  self_attn: Gemma3Attention;
  post_attention_layernorm: GemmaRMSNorm;
  pre_feedforward_layernorm: GemmaRMSNorm;
  mlp: Gemma3MLP;
  post_feedforward_layernorm: GemmaRMSNorm;
  constructor(cfg: Gemma3Config, layer: number) {
    super();
    const C = cfg.hidden_size, eps = cfg.rms_norm_eps;
    this.input_layernorm = new GemmaRMSNorm(C, eps);
    this.self_attn = new Gemma3Attention(cfg, layer);
    this.post_attention_layernorm = new GemmaRMSNorm(C, eps);
    this.pre_feedforward_layernorm = new GemmaRMSNorm(C, eps);
    this.mlp = new Gemma3MLP(cfg);
    this.post_feedforward_layernorm = new GemmaRMSNorm(C, eps);
  }
  forward(x: Tensor, positions: Int32Array, tables: RopeTables, opts: ForwardOptions): Tensor {
    const a = this.self_attn.forward(this.input_layernorm.forward(x), positions, tables, opts);
    x = add(x, this.post_attention_layernorm.forward(a));
    return add(x, this.post_feedforward_layernorm.forward(this.mlp.forward(this.pre_feedforward_layernorm.forward(x))));
  }
}

class Gemma3TextModel extends Module {
  embed_tokens: Embedding;
  layers: Gemma3DecoderLayer[];
  norm: GemmaRMSNorm;
  constructor(cfg: Gemma3Config) {
    super();
    this.embed_tokens = new Embedding(cfg.vocab_size, cfg.hidden_size, cfg.pad_token_id);
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new Gemma3DecoderLayer(cfg, i));
    this.norm = new GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps);
  }
}

export class Gemma3ForCausalLM extends Module implements CausalLM {
  readonly architecture = 'gemma3_text';
  model: Gemma3TextModel;
  lm_head: Linear | null = null;
  private readonly tables: Record<LayerType, RopeTables>;

  /** hfConfig: config.json as read (a gemma3 checkpoint's whole config), saved back as it was. */
  constructor(readonly config: Gemma3Config, readonly hfConfig: Record<string, unknown> = { ...config }) {
    super();
    this.model = new Gemma3TextModel(config);
    if (!config.tie_word_embeddings) this.lm_head = new Linear(config.hidden_size, config.vocab_size, { bias: false });
    const tables = (t: LayerType) => new RopeTables({ head_dim: config.head_dim, rope: config.rope[t], max_position_embeddings: config.max_position_embeddings });
    this.tables = { full_attention: tables('full_attention'), sliding_attention: tables('sliding_attention') };
  }

  get vocabSize(): number { return this.config.vocab_size; }
  get maxPositions(): number { return this.config.max_position_embeddings; }
  get numLayers(): number { return this.config.num_hidden_layers; }
  get kvShape(): { kvHeads: number; headDim: number; windows: (number | null)[] } {
    const windows = this.config.layer_types.map((t) => (t === 'sliding_attention' ? this.config.sliding_window : null));
    return { kvHeads: this.config.num_key_value_heads, headDim: this.config.head_dim, windows };
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
      throw new RangeError(`gemma3_text: ${past + seqLen} positions exceed max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    const positions = opts.positions ?? cachedPositions(opts, batch, seqLen);
    let maxPos = 0;
    for (let i = 0; i < batch * seqLen; i++) if (positions[i] > maxPos) maxPos = positions[i];
    for (const t of Object.values(this.tables)) t.ensure(maxPos + 1);
    // HF multiplies by sqrt(hidden) cast to the weights' dtype: float32 here.
    const embed = () => scale(this.model.embed_tokens.forward(ids, [batch, seqLen]), Math.fround(Math.sqrt(this.config.hidden_size)));
    let x = runBlocks(opts, embed, this.model.layers,
      (layer, input) => layer.forward(input, positions, this.tables[this.config.layer_types[layer.self_attn.layer]], opts));
    x = this.model.norm.forward(x);
    advanceCaches(opts, seqLen);
    return x;
  }

  /** HF's _init_weights: N(0, initializer_range) for linear and embedding weights; Gemma norms start at zero (scale 1 + w). */
  initWeights(seed: number): void {
    const rng = new Rng(seed);
    const std = this.config.initializer_range;
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('norm.weight') || name.endsWith('.bias')) p.data.fill(0);
      else rng.fillNormal(p.data, std);
    }
  }

  /** A gemma3 (multimodal) checkpoint's text weights map onto this model; its vision tower is skipped. */
  static mapWeightName(key: string): string | null {
    if (key.startsWith('model.language_model.')) return 'model.' + key.slice('model.language_model.'.length);
    if (key.startsWith('language_model.model.')) return 'model.' + key.slice('language_model.model.'.length);
    if (key.startsWith('language_model.lm_head.')) return key.slice('language_model.'.length);
    if (/^(model\.)?(vision_tower|multi_modal_projector)\./.test(key)) return null;
    return key;
  }
}
