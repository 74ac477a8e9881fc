// BERT and RoBERTa (one trunk, two naming and position schemes) with Hugging Face's heads:
// ForSequenceClassification, ForTokenClassification, ForMaskedLM (decoder tied to the word embeddings).
// Post-LN blocks, exact (erf) GELU, absolute position + token-type embeddings, bidirectional attention
// with the padding mask. Parameters keep HF's names (bert.encoder.layer.0.attention.self.query.weight ...).
import { Module } from '../nn/module.js';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { runBlocks } from '../tensor/blocks.js';
import { add } from '../tensor/ops/elementwise.js';
import { geluErf, tanh } from '../tensor/ops/activations.js';
import { linear } from '../tensor/ops/linear.js';
import { reshape, scatterRows, slice } from '../tensor/ops/layout.js';
import { attention } from '../tensor/ops/attention.js';
import { dropout, dropoutPacking, nextDropoutSeed } from '../tensor/ops/dropout.js';
import { Rng } from '../util/rng.js';
import { ModelConfig } from '../formats/hf_config.js';
import { packTokens, seededForward, type PackedTokens, type TaskInput, type TaskKind, type TaskModel } from './task_model.js';
import { readTaskLabels, type TaskLabels } from './task_config.js';

export type BertFamily = 'bert' | 'roberta';

export interface BertConfig {
  model_type: BertFamily;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  hidden_dropout_prob: number;
  /** Dropout before the classifier; null = hidden_dropout_prob. */
  classifier_dropout: number | null;
  pad_token_id: number;
  initializer_range: number;
}

/** Reads a BertConfig / RobertaConfig config.json; refuses, by name, settings that change the math unsupported. */
export function bertConfigFrom(raw: Record<string, unknown>, source = 'config.json'): { config: BertConfig; labels: TaskLabels } {
  const c = new ModelConfig(raw, source);
  const family = c.string('model_type') as BertFamily;
  const pos = (key: string, def: number) => {
    const v = c.int(key, def);
    return v > 0 ? v : c.refuse(key, 'must be a positive integer');
  };
  const roberta = family === 'roberta';
  const config: BertConfig = {
    model_type: family,
    vocab_size: pos('vocab_size', roberta ? 50265 : 30522),
    hidden_size: pos('hidden_size', 768),
    num_hidden_layers: pos('num_hidden_layers', 12),
    num_attention_heads: pos('num_attention_heads', 12),
    intermediate_size: pos('intermediate_size', 3072),
    max_position_embeddings: pos('max_position_embeddings', 512),
    type_vocab_size: pos('type_vocab_size', 2),
    layer_norm_eps: c.number('layer_norm_eps', 1e-12),
    hidden_dropout_prob: c.number('hidden_dropout_prob', 0.1),
    classifier_dropout: c.optNumber('classifier_dropout') ?? null,
    pad_token_id: c.int('pad_token_id', roberta ? 1 : 0),
    initializer_range: c.number('initializer_range', 0.02),
  };
  if (config.hidden_size % config.num_attention_heads !== 0) {
    c.refuse('num_attention_heads', `hidden_size ${config.hidden_size} is not divisible by num_attention_heads ${config.num_attention_heads}`);
  }
  c.refuseUnless('hidden_act', (v) => v === undefined || v === 'gelu', 'only "gelu" (erf) is implemented');
  c.refuseUnless('position_embedding_type', (v) => v === undefined || v === 'absolute', 'only "absolute" is implemented');
  for (const key of ['is_decoder', 'add_cross_attention']) c.refuseUnless(key, (v) => v === undefined || v === false, 'an encoder only');
  return { config, labels: readTaskLabels(c) };
}

class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  constructor(readonly cfg: BertConfig) {
    super();
    const pad = cfg.pad_token_id < cfg.vocab_size ? cfg.pad_token_id : null;
    this.word_embeddings = new Embedding(cfg.vocab_size, cfg.hidden_size, pad);
    // RoBERTa's position table has padding_idx too (padding tokens sit at position pad_token_id).
    this.position_embeddings = new Embedding(cfg.max_position_embeddings, cfg.hidden_size, cfg.model_type === 'roberta' ? cfg.pad_token_id : null);
    this.token_type_embeddings = new Embedding(cfg.type_vocab_size, cfg.hidden_size);
    this.LayerNorm = new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps);
  }
  /** -> [B, T, C]; with pack, [1, N, C] over the packed tokens only. */
  forward(input: TaskInput, pack: PackedTokens | null = null): Tensor {
    const { ids, batch: B, seqLen: T } = input;
    const positions = this.cfg.model_type === 'roberta' ? robertaPositions(ids, B, T, this.cfg.pad_token_id) : bertPositions(B, T);
    const maxPos = positions.reduce((m, p) => Math.max(m, p), 0);
    if (maxPos >= this.cfg.max_position_embeddings) {
      throw new RangeError(`${this.cfg.model_type}: ${T} tokens need position ${maxPos}, beyond max_position_embeddings ${this.cfg.max_position_embeddings}`);
    }
    const types = input.tokenTypeIds ?? new Int32Array(B * T);
    for (let i = 0; i < B * T; i++) {
      if (types[i] < 0 || types[i] >= this.cfg.type_vocab_size) throw new RangeError(`${this.cfg.model_type}: token_type_id ${types[i]} at ${i} is outside 0..${this.cfg.type_vocab_size - 1}`);
    }
    const take = (a: Int32Array) => (pack ? Int32Array.from(pack.index, (i) => a[i]) : a);
    const shape = pack ? [1, pack.index.length] : [B, T];
    const x = add(add(this.word_embeddings.forward(take(ids), shape), this.token_type_embeddings.forward(take(types), shape)),
      this.position_embeddings.forward(take(positions), shape));
    return this.LayerNorm.forward(x);
  }
}

/** BERT: 0..T-1 in every row. */
function bertPositions(B: number, T: number): Int32Array {
  const p = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = t;
  return p;
}

/** RoBERTa (fairseq's make_positions): tokens count from pad + 1, padding tokens sit at pad. */
export function robertaPositions(ids: Int32Array, B: number, T: number, pad: number): Int32Array {
  const p = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (ids[i] !== pad) n++;
      p[i] = ids[i] !== pad ? pad + n : pad;
    }
  }
  return p;
}

type Drop = (x: Tensor) => Tensor;

class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  constructor(readonly cfg: BertConfig) {
    super();
    this.query = new Linear(cfg.hidden_size, cfg.hidden_size);
    this.key = new Linear(cfg.hidden_size, cfg.hidden_size);
    this.value = new Linear(cfg.hidden_size, cfg.hidden_size);
  }
  forward(x: Tensor, segments: Int32Array | null): Tensor {
    const [B, T, C] = x.shape;
    const H = this.cfg.num_attention_heads, D = C / H;
    const q = reshape(this.query.forward(x), [B, T, H, D]);
    const k = reshape(this.key.forward(x), [B, T, H, D]);
    const v = reshape(this.value.forward(x), [B, T, H, D]);
    return reshape(attention(q, k, v, { causal: false, segments }), [B, T, C]);
  }
}

/** dense -> dropout -> LayerNorm(residual + .): BertSelfOutput and BertOutput alike. */
class BertResidualOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  constructor(inDim: number, cfg: BertConfig) {
    super();
    this.dense = new Linear(inDim, cfg.hidden_size);
    this.LayerNorm = new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps);
  }
  forward(x: Tensor, residual: Tensor, drop: Drop): Tensor {
    return this.LayerNorm.forward(add(drop(this.dense.forward(x)), residual));
  }
}

class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertResidualOutput;
  constructor(cfg: BertConfig) {
    super();
    this.self = new BertSelfAttention(cfg);
    this.output = new BertResidualOutput(cfg.hidden_size, cfg);
  }
}

class BertIntermediate extends Module {
  dense: Linear;
  constructor(cfg: BertConfig) {
    super();
    this.dense = new Linear(cfg.hidden_size, cfg.intermediate_size);
  }
}

class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertResidualOutput;
  constructor(cfg: BertConfig) {
    super();
    this.attention = new BertAttention(cfg);
    this.intermediate = new BertIntermediate(cfg);
    this.output = new BertResidualOutput(cfg.intermediate_size, cfg);
  }
  forward(x: Tensor, segments: Int32Array | null, drop: Drop): Tensor {
    const a = this.attention.output.forward(this.attention.self.forward(x, segments), x, drop);
    return this.output.forward(geluErf(this.intermediate.dense.forward(a)), a, drop);
  }
}

class BertEncoder extends Module {
  layer: BertLayer[];
  constructor(cfg: BertConfig) {
    super();
    this.layer = Array.from({ length: cfg.num_hidden_layers }, () => new BertLayer(cfg));
  }
}

class BertPooler extends Module {
  dense: Linear;
  constructor(cfg: BertConfig) {
    super();
    this.dense = new Linear(cfg.hidden_size, cfg.hidden_size);
  }
  /** tanh(dense(h[:, 0])): [B, T, C] -> [B, C]. */
  forward(h: Tensor): Tensor {
    return tanh(this.dense.forward(firstToken(h)));
  }
}

/** BertModel / RobertaModel; the pooler only where the head reads it (BertForSequenceClassification). */
export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;
  constructor(readonly cfg: BertConfig, withPooler: boolean) {
    super();
    this.embeddings = new BertEmbeddings(cfg);
    this.encoder = new BertEncoder(cfg);
    this.pooler = withPooler ? new BertPooler(cfg) : null;
  }
  /** -> last hidden state [B, T, hidden] (runEncoder: padding taken out, its positions 0). */
  forward(input: TaskInput, drop: Drop): Tensor {
    return runEncoder(input, this.cfg.hidden_size, (pack) => drop(this.embeddings.forward(input, pack)), this.encoder.layer,
      (layer, x, segments) => layer.forward(x, segments, drop));
  }
}

/**
 * An encoder trunk over a padded batch -> [B, T, C]: embed(pack), then the blocks, run on the real tokens
 * only, packed into one sequence whose attention segments are the rows (exactly HF's key-padding mask for
 * every real token), so padding costs nothing; padding positions come back as 0 (their outputs are never
 * read). BERT, RoBERTa and DistilBERT share it.
 */
export function runEncoder<Block extends { parameters(): Tensor[] }>(input: TaskInput, hidden: number, embed: (pack: PackedTokens | null) => Tensor,
  blocks: readonly Block[], step: (block: Block, x: Tensor, segments: Int32Array | null) => Tensor): Tensor {
  const { batch: B, seqLen: T } = input;
  const pack = packTokens(input.attentionMask, B, T);
  const opts = {
    dropoutSeed: input.dropoutSeed, gradientCheckpointing: input.gradientCheckpointing,
    dropoutPacking: pack ? dropoutPacking(pack.index, pack.padded) : null,
  };
  const h = runBlocks(opts, () => embed(pack), blocks, (block, x) => step(block, x, pack?.segments ?? null));
  if (!pack) return h;
  return reshape(scatterRows(reshape(h, [pack.index.length, hidden]), pack.index, B * T), [B, T, hidden]);
}

/** h[:, 0]: [B, T, C] -> [B, C]. */
export function firstToken(h: Tensor): Tensor {
  const [B, , C] = h.shape;
  return reshape(slice(h, 1, 0, 1), [B, C]);
}

/** The common part of the BERT-family task models: the trunk under its family's name, dropout, init. */
abstract class BertTaskModel extends Module implements TaskModel {
  abstract readonly task: TaskKind;
  abstract readonly numLabels: number;
  abstract readonly headParameterPrefixes: readonly string[];
  /** The head's output from the input, dropout drawn in forward's seeded scope. */
  protected abstract logits(input: TaskInput): Tensor;

  constructor(readonly config: BertConfig, readonly labels: TaskLabels, readonly hfConfig: Record<string, unknown>, withPooler: boolean) {
    super();
    // The trunk's property name is the checkpoint's prefix: bert.* or roberta.*
    (this as unknown as Record<string, BertModel>)[config.model_type] = new BertModel(config, withPooler);
  }

  get base(): BertModel { return (this as unknown as Record<string, BertModel>)[this.config.model_type]; }
  get maxPositions(): number {
    return this.config.model_type === 'roberta' ? this.config.max_position_embeddings - this.config.pad_token_id - 1 : this.config.max_position_embeddings;
  }
  get architecture(): string {
    const prefix = this.config.model_type === 'roberta' ? 'Roberta' : 'Bert';
    return prefix + { seq_cls: 'ForSequenceClassification', token_cls: 'ForTokenClassification', masked_lm: 'ForMaskedLM' }[this.task];
  }

  forward(input: TaskInput): Tensor {
    return seededForward(input, (i) => this.logits(i));
  }
  protected drop(p: number): Drop {
    return (x) => (this.training && p > 0 ? dropout(x, p, nextDropoutSeed()) : x);
  }
  protected get classifierDropout(): number { return this.config.classifier_dropout ?? this.config.hidden_dropout_prob; }

  /** BertPreTrainedModel._init_weights: linear and embedding weights N(0, initializer_range), biases 0, norms 1. */
  initWeights(seed: number, names?: ReadonlySet<string>): void {
    const rng = new Rng(seed);
    for (const [name, p] of this.namedParameters()) {
      if (names && !names.has(name)) continue;
      if (/(LayerNorm|layer_norm)\.weight$/.test(name)) p.data.fill(1);
      else if (name.endsWith('bias')) p.data.fill(0);
      else rng.fillNormal(p.data, this.config.initializer_range);
      const emb = name.endsWith('word_embeddings.weight') ? this.base.embeddings.word_embeddings : null;
      if (emb?.paddingIdx != null) p.data.fill(0, emb.paddingIdx * emb.dim, (emb.paddingIdx + 1) * emb.dim);
    }
  }
}

class RobertaClassificationHead extends Module {
  dense: Linear;
  out_proj: Linear;
  constructor(cfg: BertConfig, numLabels: number) {
    super();
    this.dense = new Linear(cfg.hidden_size, cfg.hidden_size);
    this.out_proj = new Linear(cfg.hidden_size, numLabels);
  }
}

export class BertForSequenceClassification extends BertTaskModel {
  readonly task = 'seq_cls' as const;
  readonly headParameterPrefixes: readonly string[];
  /** BERT: Linear over the pooler's output; RoBERTa: dense + tanh + out_proj over <s>. */
  classifier: Linear | RobertaClassificationHead;
  constructor(config: BertConfig, labels: TaskLabels, hfConfig: Record<string, unknown>) {
    super(config, labels, hfConfig, config.model_type === 'bert');
    const n = labels.id2label.length;
    this.classifier = config.model_type === 'roberta' ? new RobertaClassificationHead(config, n) : new Linear(config.hidden_size, n);
    this.headParameterPrefixes = config.model_type === 'bert' ? ['classifier.', 'bert.pooler.'] : ['classifier.'];
  }
  get numLabels(): number { return this.labels.id2label.length; }
  /** -> logits [B, num_labels]. */
  protected logits(input: TaskInput): Tensor {
    const h = this.base.forward(input, this.drop(this.config.hidden_dropout_prob));
    const drop = this.drop(this.classifierDropout);
    if (this.classifier instanceof Linear) return this.classifier.forward(drop(this.base.pooler!.forward(h)));
    const head = this.classifier;
    return head.out_proj.forward(drop(tanh(head.dense.forward(drop(firstToken(h))))));
  }
}

export class BertForTokenClassification extends BertTaskModel {
  readonly task = 'token_cls' as const;
  readonly headParameterPrefixes = ['classifier.'];
  classifier: Linear;
  constructor(config: BertConfig, labels: TaskLabels, hfConfig: Record<string, unknown>) {
    super(config, labels, hfConfig, false);
    this.classifier = new Linear(config.hidden_size, labels.id2label.length);
  }
  get numLabels(): number { return this.labels.id2label.length; }
  /** -> logits [B, T, num_labels]. */
  protected logits(input: TaskInput): Tensor {
    const h = this.base.forward(input, this.drop(this.config.hidden_dropout_prob));
    return this.classifier.forward(this.drop(this.classifierDropout)(h));
  }
}

/** dense -> gelu -> LayerNorm (BertPredictionHeadTransform; RobertaLMHead names it dense / layer_norm). */
class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  constructor(cfg: BertConfig) {
    super();
    this.dense = new Linear(cfg.hidden_size, cfg.hidden_size);
    this.LayerNorm = new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps);
  }
}

class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  /** [vocab]: the decoder's bias (decoder.weight is the word embedding table). */
  bias: Tensor;
  constructor(cfg: BertConfig) {
    super();
    this.transform = new BertPredictionHeadTransform(cfg);
    this.bias = Tensor.param(new Float32Array(cfg.vocab_size), [cfg.vocab_size]);
  }
}

class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;
  constructor(cfg: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(cfg);
  }
}

class RobertaLMHead extends Module {
  dense: Linear;
  layer_norm: LayerNorm;
  bias: Tensor;
  constructor(cfg: BertConfig) {
    super();
    this.dense = new Linear(cfg.hidden_size, cfg.hidden_size);
    this.layer_norm = new LayerNorm(cfg.hidden_size, cfg.layer_norm_eps);
    this.bias = Tensor.param(new Float32Array(cfg.vocab_size), [cfg.vocab_size]);
  }
}

export class BertForMaskedLM extends BertTaskModel {
  readonly task = 'masked_lm' as const;
  readonly headParameterPrefixes: readonly string[];
  cls: BertOnlyMLMHead | null = null;
  lm_head: RobertaLMHead | null = null;
  constructor(config: BertConfig, labels: TaskLabels, hfConfig: Record<string, unknown>) {
    super(config, labels, hfConfig, false);
    if (config.model_type === 'roberta') this.lm_head = new RobertaLMHead(config);
    else this.cls = new BertOnlyMLMHead(config);
    this.headParameterPrefixes = config.model_type === 'roberta' ? ['lm_head.'] : ['cls.'];
  }
  get numLabels(): number { return this.config.vocab_size; }
  /** -> logits [B, T, vocab], the decoder tied to the word embeddings. */
  protected logits(input: TaskInput): Tensor {
    const h = this.base.forward(input, this.drop(this.config.hidden_dropout_prob));
    const [dense, norm, bias] = this.lm_head
      ? [this.lm_head.dense, this.lm_head.layer_norm, this.lm_head.bias]
      : [this.cls!.predictions.transform.dense, this.cls!.predictions.transform.LayerNorm, this.cls!.predictions.bias];
    const x = norm.forward(geluErf(dense.forward(h)));
    return linear(x, this.base.embeddings.word_embeddings.weight, bias, 'out_in');
  }
}

/**
 * Checkpoint key -> parameter name for a BERT-family task model: a bare BertModel's keys get the
 * family prefix, TF-era LayerNorm.gamma/beta their torch names; tied decoder copies and NSP heads are skipped.
 */
export function bertWeightName(family: BertFamily, key: string): string | null {
  let k = key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  if (/^(cls\.predictions\.decoder\.|lm_head\.decoder\.|cls\.seq_relationship\.)/.test(k)) return null;
  if (k.endsWith('.position_ids')) return null;
  if (/^(embeddings|encoder|pooler)\./.test(k)) k = `${family}.${k}`;
  return k;
}
