// A decoder-only model with Hugging Face's sequence-classification head (GPT2ForSequenceClassification,
// LlamaForSequenceClassification ...): `score`, a linear without bias, over the last token that is not
// padding, found through config.pad_token_id as HF finds it.
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { concat, reshape, slice } from '../tensor/ops/layout.js';
import { Rng } from '../util/rng.js';
import type { CausalLM } from './causal_lm.js';
import type { TaskInput, TaskModel } from './task_model.js';
import type { TaskLabels } from './task_config.js';

/** model_type -> HF's class-name stem and the trunk's property (the checkpoint's key prefix). */
export const DECODER_HEAD_NAMES: Record<string, { stem: string; trunk: string }> = {
  gpt2: { stem: 'GPT2', trunk: 'transformer' },
  llama: { stem: 'Llama', trunk: 'model' },
  qwen2: { stem: 'Qwen2', trunk: 'model' },
  qwen3: { stem: 'Qwen3', trunk: 'model' },
  mistral: { stem: 'Mistral', trunk: 'model' },
};

export class DecoderForSequenceClassification extends Module implements TaskModel {
  readonly task = 'seq_cls' as const;
  readonly headParameterPrefixes = ['score.'];
  readonly architecture: string;
  score: Linear;
  /** The causal LM whose trunk this shares (kept off the parameter walk: its lm_head is not ours). */
  declare private readonly lm: CausalLM;

  constructor(lm: CausalLM, readonly labels: TaskLabels, readonly hfConfig: Record<string, unknown>) {
    super();
    const names = DECODER_HEAD_NAMES[lm.config.model_type];
    if (!names) throw new Error(`config.json: model_type '${lm.config.model_type}' has no sequence-classification head in gptune (supported: ${Object.keys(DECODER_HEAD_NAMES).join(', ')})`);
    Object.defineProperty(this, 'lm', { value: lm, enumerable: false });
    this.architecture = `${names.stem}ForSequenceClassification`;
    // The trunk under the checkpoint's name (transformer.* / model.*), then the head.
    (this as unknown as Record<string, Module>)[names.trunk] = (lm as unknown as Record<string, Module>)[names.trunk];
    const hidden = lm.outputWeight.shape[1];
    this.score = new Linear(hidden, labels.id2label.length, { bias: false });
  }

  get numLabels(): number { return this.labels.id2label.length; }
  /** The trunk's typed config (LoRA's default target modules go by its model_type). */
  get config(): CausalLM['config'] { return this.lm.config; }
  get maxPositions(): number { return this.lm.maxPositions; }
  get padTokenId(): number | null {
    const p = this.hfConfig.pad_token_id;
    return typeof p === 'number' ? p : null;
  }

  override train(on = true): this {
    this.lm.train(on);
    return super.train(on);
  }

  /** -> logits [B, num_labels] at each row's last non-padding token. */
  forward(input: TaskInput): Tensor {
    const { ids, batch: B, seqLen: T } = input;
    // HF's score head has no dropout: the trunk's masks are all the seed draws.
    const h = this.lm.hiddenStates(ids, B, T, { dropoutSeed: input.dropoutSeed, gradientCheckpointing: input.gradientCheckpointing }); // [B, T, C]
    const C = h.shape[2];
    const last = lastTokenIndices(ids, B, T, this.padTokenId, input.attentionMask ?? null);
    const rows = last.map((t, b) => reshape(slice(slice(h, 0, b, b + 1), 1, t, t + 1), [1, C]));
    return this.score.forward(rows.length === 1 ? rows[0] : concat(rows, 0));
  }

  /** HF's _init_weights for the score head: N(0, initializer_range). */
  initWeights(seed: number, names?: ReadonlySet<string>): void {
    const rng = new Rng(seed);
    const std = typeof this.hfConfig.initializer_range === 'number' ? this.hfConfig.initializer_range : 0.02;
    for (const [name, p] of this.namedParameters()) {
      if (names ? names.has(name) : name.startsWith('score.')) rng.fillNormal(p.data, std);
    }
  }
}

/**
 * Per row, the position HF's head reads: the rightmost token that is not pad_token_id (0 when every
 * token is padding). Without a pad_token_id: the attention mask's last 1, else the last position for one row.
 */
export function lastTokenIndices(ids: Int32Array, B: number, T: number, pad: number | null, mask: Int32Array | null): number[] {
  if (pad === null && mask === null && B > 1) {
    throw new Error('config.json: pad_token_id is not set, so the last token of each row cannot be found in a batch of several (set pad_token_id, as Hugging Face requires)');
  }
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let last = pad === null && mask === null ? T - 1 : 0;
    for (let t = 0; t < T; t++) {
      const real = pad !== null ? ids[b * T + t] !== pad : mask !== null ? mask[b * T + t] !== 0 : true;
      if (real) last = t;
    }
    out.push(last);
  }
  return out;
}

/** Checkpoint key -> parameter name: score.* kept, a causal LM's lm_head skipped, the rest as the trunk maps it. */
export function decoderClassifierWeightName(trunkMap: (key: string) => string | null, key: string): string | null {
  if (key.startsWith('score.')) return key;
  if (key.startsWith('lm_head.')) return null;
  return trunkMap(key);
}
