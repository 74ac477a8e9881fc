// GPT-2 with the semantics of Hugging Face's GPT2LMHeadModel. Parameters keep HF's names
// (transformer.h.0.attn.c_attn.weight ...); Conv1D weights stay [in, out] as in the checkpoint.
import { Module } from '../nn/module.js';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { runBlocks } from '../tensor/blocks.js';
import { add } from '../tensor/ops/elementwise.js';
import { gelu } from '../tensor/ops/activations.js';
import { linear } from '../tensor/ops/linear.js';
import { reshape, split } from '../tensor/ops/layout.js';
import { attention } from '../tensor/ops/attention.js';
import { dropout, nextDropoutSeed } from '../tensor/ops/dropout.js';
import { Rng } from '../util/rng.js';
import type { CausalLM, ForwardOptions } from './causal_lm.js';
import { advanceCaches, attendCached, cachedLength, cachedPositions } from './kv_cache.js';
import { ModelConfig } from '../formats/hf_config.js';

export interface GPT2Config {
  model_type: 'gpt2';
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_inner: number | null;
  layer_norm_epsilon: number;
  activation_function: string;
  resid_pdrop: number;
  embd_pdrop: number;
  scale_attn_weights: boolean;
  tie_word_embeddings: boolean;
}

/**
 * How each config.json field of transformers 5's GPT2Config is treated: read into GPT2Config, not
 * changing the numbers (ids, cache switches, the classification head's summary_*), or refused when set
 * to a value gptune does not implement. attn_pdrop is the one known training difference (README: the
 * fused attention never forms probabilities to drop). test/models/config_fields.test.ts walks them.
 */
export const GPT2_CONFIG_FIELDS = {
  used: ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'n_inner', 'layer_norm_epsilon', 'activation_function',
    'resid_pdrop', 'embd_pdrop', 'scale_attn_weights', 'tie_word_embeddings'],
  neutral: ['bos_token_id', 'eos_token_id', 'pad_token_id', 'use_cache', 'initializer_range', 'n_ctx', 'attn_pdrop',
    'summary_type', 'summary_use_proj', 'summary_activation', 'summary_first_dropout', 'summary_proj_to_labels'],
  refused: ['scale_attn_by_inverse_layer_idx', 'reorder_and_upcast_attn', 'add_cross_attention'],
} as const;

/** Reads a config.json object with GPT2Config's defaults; refuses, by name, fields that would change the math unsupported. */
export function gpt2ConfigFrom(raw: Record<string, unknown>, source = 'config.json'): GPT2Config {
  const c = new ModelConfig(raw, source);
  const pos = (key: string, def: number) => {
    const v = c.int(key, def);
    return v > 0 ? v : c.refuse(key, 'must be a positive integer');
  };
  const cfg: GPT2Config = {
    model_type: 'gpt2',
    vocab_size: pos('vocab_size', 50257),
    n_positions: pos('n_positions', 1024),
    n_embd: pos('n_embd', 768),
    n_layer: pos('n_layer', 12),
    n_head: pos('n_head', 12),
    n_inner: c.optInt('n_inner') ?? null,
    layer_norm_epsilon: c.number('layer_norm_epsilon', 1e-5),
    activation_function: c.string('activation_function', 'gelu_new'),
    resid_pdrop: c.number('resid_pdrop', 0.1),
    embd_pdrop: c.number('embd_pdrop', 0.1),
    scale_attn_weights: c.bool('scale_attn_weights', true),
    tie_word_embeddings: c.bool('tie_word_embeddings', true),
  };
  if (cfg.n_embd % cfg.n_head !== 0) c.refuse('n_head', `n_embd ${cfg.n_embd} is not divisible by n_head ${cfg.n_head}`);
  c.refuseUnless('activation_function', (v) => v === 'gelu_new' || v === 'gelu_pytorch_tanh', 'gelu_new and gelu_pytorch_tanh are implemented');
  for (const key of ['scale_attn_by_inverse_layer_idx', 'reorder_and_upcast_attn', 'add_cross_attention']) {
    c.refuseUnless(key, (v) => v === false, 'not implemented');
  }
  return cfg;
}

class GPT2Attention extends Module {
  c_attn: Linear;
  c_proj: Linear;
  constructor(readonly cfg: GPT2Config, readonly layer: number) {
    super();
    this.c_attn = new Linear(cfg.n_embd, 3 * cfg.n_embd, { layout: 'in_out' });
    this.c_proj = new Linear(cfg.n_embd, cfg.n_embd, { layout: 'in_out' });
  }
  forward(x: Tensor, opts: ForwardOptions, drop: (t: Tensor, p: number) => Tensor): Tensor {
    const [B, T, C] = x.shape;
    const H = this.cfg.n_head, D = C / H;
    const qkv = this.c_attn.forward(x); // (B, T, 3C)
    const [q, k, v] = split(qkv, [C, C, C], -1).map((t) => reshape(t, [B, T, H, D])); // (B, T, H, D)
    const scale = this.cfg.scale_attn_weights ? 1 / Math.sqrt(D) : 1;
    const y = attendCached(opts, this.layer, q, k, v, scale)
      ?? attention(q, k, v, { causal: true, segments: opts.segments ?? null, scale });
    return drop(this.c_proj.forward(reshape(y, [B, T, C])), this.cfg.resid_pdrop);
  }
}

class GPT2MLP extends Module {
  c_fc: Linear;
  c_proj: Linear;
  constructor(cfg: GPT2Config) {
    super();
    const inner = cfg.n_inner ?? 4 * cfg.n_embd;
    this.c_fc = new Linear(cfg.n_embd, inner, { layout: 'in_out' });
    this.c_proj = new Linear(inner, cfg.n_embd, { layout: 'in_out' });
  }
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(gelu(this.c_fc.forward(x)));
  }
}

class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;
  constructor(readonly cfg: GPT2Config, layer: number) {
    super();
    this.ln_1 = new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon);
    this.attn = new GPT2Attention(cfg, layer);
    this.ln_2 = new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon);
    this.mlp = new GPT2MLP(cfg);
  }
  forward(x: Tensor, opts: ForwardOptions, drop: (t: Tensor, p: number) => Tensor): Tensor {
    x = add(x, this.attn.forward(this.ln_1.forward(x), opts, drop));
    return add(x, drop(this.mlp.forward(this.ln_2.forward(x)), this.cfg.resid_pdrop));
  }
}

class GPT2Model extends Module {
  wte: Embedding;
  wpe: Embedding;
  h: GPT2Block[];
  ln_f: LayerNorm;
  constructor(cfg: GPT2Config) {
    super();
    this.wte = new Embedding(cfg.vocab_size, cfg.n_embd);
    this.wpe = new Embedding(cfg.n_positions, cfg.n_embd);
    this.h = Array.from({ length: cfg.n_layer }, (_, i) => new GPT2Block(cfg, i));
    this.ln_f = new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon);
  }
}

export class GPT2LMHeadModel extends Module implements CausalLM {
  readonly architecture = 'gpt2';
  transformer: GPT2Model;
  /** Present only when the checkpoint unties the head from wte. */
  lm_head: Linear | null = null;

  /** hfConfig: config.json as read, saved back with the model's keys and layout. */
  constructor(readonly config: GPT2Config, readonly hfConfig: Record<string, unknown> = { ...config }) {
    super();
    this.transformer = new GPT2Model(config);
    if (!config.tie_word_embeddings) this.lm_head = new Linear(config.n_embd, config.vocab_size, { bias: false });
  }

  get vocabSize(): number { return this.config.vocab_size; }
  get maxPositions(): number { return this.config.n_positions; }
  get numLayers(): number { return this.config.n_layer; }
  get kvShape(): { kvHeads: number; headDim: number } {
    return { kvHeads: this.config.n_head, headDim: this.config.n_embd / this.config.n_head };
  }

  /** ids [B*T] -> logits [B, T, vocab]. */
  forward(ids: Int32Array, batch: number, seqLen: number, opts: ForwardOptions = {}): Tensor {
    return linear(this.hiddenStates(ids, batch, seqLen, opts), this.outputWeight, null, 'out_in');
  }

  /** The lm_head's weight [vocab, n_embd] (wte when tied). */
  get outputWeight(): Tensor { return this.lm_head ? this.lm_head.weight : this.transformer.wte.weight; }

  /** ids [B*T] -> ln_f's output [B, T, n_embd], the lm_head's input. */
  hiddenStates(ids: Int32Array, batch: number, seqLen: number, opts: ForwardOptions = {}): Tensor {
    const t = this.transformer;
    const past = cachedLength(opts);
    if (past + seqLen > this.config.n_positions) {
      throw new RangeError(`gpt2: ${past + seqLen} positions exceed n_positions ${this.config.n_positions}`);
    }
    const positions = opts.positions ?? cachedPositions(opts, batch, seqLen);
    const drop = (x: Tensor, p: number) => (this.training && p > 0 ? dropout(x, p, nextDropoutSeed()) : x);
    const embed = () => drop(add(t.wte.forward(ids, [batch, seqLen]), t.wpe.forward(positions, [batch, seqLen])), this.config.embd_pdrop);
    let x = runBlocks(opts, embed, t.h, (block, input) => block.forward(input, opts, drop));
    x = t.ln_f.forward(x);
    advanceCaches(opts, seqLen);
    return x;
  }

  /** GPT-2's initialisation: N(0, 0.02), residual projections N(0, 0.02 / sqrt(2 n_layer)). */
  initWeights(seed: number): void {
    const rng = new Rng(seed);
    const residStd = 0.02 / Math.sqrt(2 * this.config.n_layer);
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name.endsWith('ln_f.weight')) p.data.fill(1);
      else if (name.endsWith('.bias')) p.data.fill(0);
      else rng.fillNormal(p.data, name.endsWith('c_proj.weight') ? residStd : 0.02);
    }
  }

  /** Maps a checkpoint key to a parameter name; null for keys to skip (legacy attention buffers). */
  static mapWeightName(key: string): string | null {
    if (/\.attn\.(bias|masked_bias)$/.test(key)) return null;
    if (key.startsWith('transformer.') || key.startsWith('lm_head.')) return key;
    return 'transformer.' + key;
  }
}

export function defaultPositions(batch: number, seqLen: number, past = 0): Int32Array {
  const p = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) for (let t = 0; t < seqLen; t++) p[b * seqLen + t] = past + t;
  return p;
}
