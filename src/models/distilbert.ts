// DistilBERT (Hugging Face's DistilBertModel) with its heads: ForSequenceClassification (pre_classifier +
// ReLU over [CLS]), ForTokenClassification, ForMaskedLM (vocab_transform, gelu, vocab_layer_norm, vocab_projector
// tied to the word embeddings). BERT's post-LN encoder without token types or pooler, under its own names
// (q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2, output_layer_norm); learned positions only.
import { Module } from '../nn/module.js';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { add } from '../tensor/ops/elementwise.js';
import { geluErf, relu } from '../tensor/ops/activations.js';
import { linear } from '../tensor/ops/linear.js';
import { reshape } from '../tensor/ops/layout.js';
import { attention } from '../tensor/ops/attention.js';
import { dropout, nextDropoutSeed } from '../tensor/ops/dropout.js';
import { Rng } from '../util/rng.js';
import { ModelConfig } from '../formats/hf_config.js';
import { seededForward, type PackedTokens, type TaskInput, type TaskKind, type TaskModel } from './task_model.js';
import { readTaskLabels, type TaskLabels } from './task_config.js';
import { firstToken, runEncoder } from './bert.js';

export interface DistilBertConfig {
  vocab_size: number;
  dim: number;
  n_layers: number;
  n_heads: number;
  hidden_dim: number;
  max_position_embeddings: number;
  dropout: number;
  /** Dropout before the sequence classifier. */
  seq_classif_dropout: number;
  pad_token_id: number;
  initializer_range: number;
}

/** DistilBERT's layer norms all use eps 1e-12 (fixed in the modeling file, not in the config). */
const EPS = 1e-12;

/** Reads a DistilBertConfig config.json (its defaults); refuses, by name, what changes the math unsupported. */
export function distilBertConfigFrom(raw: Record<string, unknown>, source = 'config.json'): { config: DistilBertConfig; labels: TaskLabels } {
  const c = new ModelConfig(raw, source);
  const pos = (key: string, def: number) => {
    const v = c.int(key, def);
    return v > 0 ? v : c.refuse(key, 'must be a positive integer');
  };
  const dim = pos('dim', 768);
  const config: DistilBertConfig = {
    vocab_size: pos('vocab_size', 30522), dim, n_layers: pos('n_layers', 6), n_heads: pos('n_heads', 12), hidden_dim: pos('hidden_dim', 4 * dim),
    max_position_embeddings: pos('max_position_embeddings', 512), dropout: c.number('dropout', 0.1), seq_classif_dropout: c.number('seq_classif_dropout', 0.2),
    pad_token_id: c.int('pad_token_id', 0), initializer_range: c.number('initializer_range', 0.02),
  };
  if (dim % config.n_heads !== 0) c.refuse('n_heads', `dim ${dim} is not divisible by n_heads ${config.n_heads}`);
  c.refuseUnless('activation', (v) => v === undefined || v === 'gelu', 'only "gelu" (erf) is implemented');
  c.refuseUnless('sinusoidal_pos_embds', (v) => v === undefined || v === false, 'only learned position embeddings are implemented');
  return { config, labels: readTaskLabels(c) };
}

type Drop = (x: Tensor) => Tensor;

class Embeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  LayerNorm: LayerNorm;
  constructor(readonly cfg: DistilBertConfig) {
    super();
    this.word_embeddings = new Embedding(cfg.vocab_size, cfg.dim, cfg.pad_token_id < cfg.vocab_size ? cfg.pad_token_id : null);
    this.position_embeddings = new Embedding(cfg.max_position_embeddings, cfg.dim);
    this.LayerNorm = new LayerNorm(cfg.dim, EPS);
  }
  /** -> [B, T, dim]; with pack, [1, N, dim] over the packed tokens only. */
  forward(input: TaskInput, pack: PackedTokens | null = null): Tensor {
    const { ids, batch: B, seqLen: T } = input;
    if (T > this.cfg.max_position_embeddings) throw new RangeError(`distilbert: ${T} tokens, beyond max_position_embeddings ${this.cfg.max_position_embeddings}`);
    const n = pack ? pack.index.length : B * T;
    const at = (j: number) => (pack ? pack.index[j] : j); // position b * T + t in the padded batch
    const tokens = Int32Array.from({ length: n }, (_, j) => ids[at(j)]);
    const positions = Int32Array.from({ length: n }, (_, j) => at(j) % T);
    const shape = pack ? [1, n] : [B, T];
    return this.LayerNorm.forward(add(this.word_embeddings.forward(tokens, shape), this.position_embeddings.forward(positions, shape)));
  }
}

class MultiHeadSelfAttention extends Module {
  q_lin: Linear;
  k_lin: Linear;
  v_lin: Linear;
  out_lin: Linear;
  constructor(readonly cfg: DistilBertConfig) {
    super();
    this.q_lin = new Linear(cfg.dim, cfg.dim);
    this.k_lin = new Linear(cfg.dim, cfg.dim);
    this.v_lin = new Linear(cfg.dim, cfg.dim);
    this.out_lin = new Linear(cfg.dim, cfg.dim);
  }
  forward(x: Tensor, segments: Int32Array | null): Tensor {
    const [B, T, C] = x.shape;
    const H = this.cfg.n_heads, D = C / H;
    const q = reshape(this.q_lin.forward(x), [B, T, H, D]);
    const k = reshape(this.k_lin.forward(x), [B, T, H, D]);
    const v = reshape(this.v_lin.forward(x), [B, T, H, D]);
    return this.out_lin.forward(reshape(attention(q, k, v, { causal: false, segments }), [B, T, C]));
  }
}

class FFN extends Module {
  lin1: Linear;
  lin2: Linear;
  constructor(cfg: DistilBertConfig) {
    super();
    this.lin1 = new Linear(cfg.dim, cfg.hidden_dim);
    this.lin2 = new Linear(cfg.hidden_dim, cfg.dim);
  }
}

class TransformerBlock extends Module {
  attention: MultiHeadSelfAttention;
  sa_layer_norm: LayerNorm;
  ffn: FFN;
  output_layer_norm: LayerNorm;
  constructor(cfg: DistilBertConfig) {
    super();
    this.attention = new MultiHeadSelfAttention(cfg);
    this.sa_layer_norm = new LayerNorm(cfg.dim, EPS);
    this.ffn = new FFN(cfg);
    this.output_layer_norm = new LayerNorm(cfg.dim, EPS);
  }
  /** Post-LN: no dropout after out_lin (HF has none there); the FFN's output is dropped. */
  forward(x: Tensor, segments: Int32Array | null, drop: Drop): Tensor {
    const a = this.sa_layer_norm.forward(add(this.attention.forward(x, segments), x));
    const f = drop(this.ffn.lin2.forward(geluErf(this.ffn.lin1.forward(a))));
    return this.output_layer_norm.forward(add(f, a));
  }
}

class Transformer extends Module {
  layer: TransformerBlock[];
  constructor(cfg: DistilBertConfig) {
    super();
    this.layer = Array.from({ length: cfg.n_layers }, () => new TransformerBlock(cfg));
  }
}

export class DistilBertModel extends Module {
  embeddings: Embeddings;
  transformer: Transformer;
  constructor(readonly cfg: DistilBertConfig) {
    super();
    this.embeddings = new Embeddings(cfg);
    this.transformer = new Transformer(cfg);
  }
  /** -> last hidden state [B, T, dim] (runEncoder: padding taken out, its positions 0). */
  forward(input: TaskInput, drop: Drop): Tensor {
    return runEncoder(input, this.cfg.dim, (pack) => drop(this.embeddings.forward(input, pack)), this.transformer.layer,
      (layer, x, segments) => layer.forward(x, segments, drop));
  }
}

/** The common part of the heads: the trunk as `distilbert`, dropout, HF's init. */
abstract class DistilBertTaskModel extends Module implements TaskModel {
  abstract readonly task: TaskKind;
  abstract readonly numLabels: number;
  abstract readonly headParameterPrefixes: readonly string[];
  /** The head's output from the input, dropout drawn in forward's seeded scope. */
  protected abstract logits(input: TaskInput): Tensor;
  distilbert: DistilBertModel;
  /** model_type, for PEFT's default targets. */
  readonly config: DistilBertConfig & { model_type: 'distilbert' };

  constructor(config: DistilBertConfig, readonly labels: TaskLabels, readonly hfConfig: Record<string, unknown>) {
    super();
    this.config = { ...config, model_type: 'distilbert' };
    this.distilbert = new DistilBertModel(config);
  }
  get maxPositions(): number { return this.config.max_position_embeddings; }
  get architecture(): string {
    return 'DistilBert' + { seq_cls: 'ForSequenceClassification', token_cls: 'ForTokenClassification', masked_lm: 'ForMaskedLM' }[this.task];
  }
  forward(input: TaskInput): Tensor {
    return seededForward(input, (i) => this.logits(i));
  }
  protected drop(p: number): Drop {
    return (x) => (this.training && p > 0 ? dropout(x, p, nextDropoutSeed()) : x);
  }
  protected hidden(input: TaskInput): Tensor {
    return this.distilbert.forward(input, this.drop(this.config.dropout));
  }

  /** PreTrainedModel._init_weights: linear and embedding weights N(0, initializer_range), biases 0, norms 1, the pad row 0. */
  initWeights(seed: number, names?: ReadonlySet<string>): void {
    const rng = new Rng(seed);
    const emb = this.distilbert.embeddings.word_embeddings;
    for (const [name, p] of this.namedParameters()) {
      if (names && !names.has(name)) continue;
      if (/(LayerNorm|layer_norm)\.weight$/.test(name)) p.data.fill(1);
      else if (name.endsWith('bias')) p.data.fill(0);
      else rng.fillNormal(p.data, this.config.initializer_range);
      if (name.endsWith('word_embeddings.weight') && emb.paddingIdx != null) p.data.fill(0, emb.paddingIdx * emb.dim, (emb.paddingIdx + 1) * emb.dim);
    }
  }
}

export class DistilBertForSequenceClassification extends DistilBertTaskModel {
  readonly task = 'seq_cls' as const;
  readonly headParameterPrefixes = ['pre_classifier.', 'classifier.'];
  pre_classifier: Linear;
  classifier: Linear;
  constructor(config: DistilBertConfig, labels: TaskLabels, hfConfig: Record<string, unknown>) {
    super(config, labels, hfConfig);
    this.pre_classifier = new Linear(config.dim, config.dim);
    this.classifier = new Linear(config.dim, labels.id2label.length);
  }
  get numLabels(): number { return this.labels.id2label.length; }
  /** classifier(dropout(relu(pre_classifier(h[:, 0])))) -> logits [B, num_labels]. */
  protected logits(input: TaskInput): Tensor {
    const h = this.hidden(input);
    return this.classifier.forward(this.drop(this.config.seq_classif_dropout)(relu(this.pre_classifier.forward(firstToken(h)))));
  }
}

export class DistilBertForTokenClassification extends DistilBertTaskModel {
  readonly task = 'token_cls' as const;
  readonly headParameterPrefixes = ['classifier.'];
  classifier: Linear;
  constructor(config: DistilBertConfig, labels: TaskLabels, hfConfig: Record<string, unknown>) {
    super(config, labels, hfConfig);
    this.classifier = new Linear(config.dim, labels.id2label.length);
  }
  get numLabels(): number { return this.labels.id2label.length; }
  /** -> logits [B, T, num_labels]. */
  protected logits(input: TaskInput): Tensor {
    return this.classifier.forward(this.drop(this.config.dropout)(this.hidden(input)));
  }
}

export class DistilBertForMaskedLM extends DistilBertTaskModel {
  readonly task = 'masked_lm' as const;
  readonly headParameterPrefixes = ['vocab_transform.', 'vocab_layer_norm.', 'vocab_projector.'];
  vocab_transform: Linear;
  vocab_layer_norm: LayerNorm;
  /** vocab_projector.bias [vocab]; its weight is the word embedding table (tied). */
  vocab_projector: VocabProjector;
  constructor(config: DistilBertConfig, labels: TaskLabels, hfConfig: Record<string, unknown>) {
    super(config, labels, hfConfig);
    this.vocab_transform = new Linear(config.dim, config.dim);
    this.vocab_layer_norm = new LayerNorm(config.dim, EPS);
    this.vocab_projector = new VocabProjector(config.vocab_size);
  }
  get numLabels(): number { return this.config.vocab_size; }
  /** -> logits [B, T, vocab]. */
  protected logits(input: TaskInput): Tensor {
    const x = this.vocab_layer_norm.forward(geluErf(this.vocab_transform.forward(this.hidden(input))));
    return linear(x, this.distilbert.embeddings.word_embeddings.weight, this.vocab_projector.bias, 'out_in');
  }
}

class VocabProjector extends Module {
  bias: Tensor;
  constructor(vocab: number) {
    super();
    this.bias = Tensor.param(new Float32Array(vocab), [vocab]);
  }
}

/** Checkpoint key -> parameter name: the tied vocab_projector.weight and buffers are skipped; a bare DistilBertModel's keys get the prefix. */
export function distilBertWeightName(key: string): string | null {
  if (key === 'vocab_projector.weight' || key.endsWith('.position_ids')) return null;
  if (/^(embeddings|transformer)\./.test(key)) return `distilbert.${key}`;
  return key;
}
