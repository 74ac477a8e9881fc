// model_type -> architecture. One entry per file in this folder; an unknown type is refused by name.
import { GPT2LMHeadModel, gpt2ConfigFrom } from './gpt2.js';
import { LlamaForCausalLM, llamaConfigFrom } from './llama.js';
import { Qwen3ForCausalLM } from './qwen3.js';
import { Gemma3ForCausalLM, gemma3ConfigFrom } from './gemma3.js';
import type { CausalLM } from './causal_lm.js';
import { BertForMaskedLM, BertForSequenceClassification, BertForTokenClassification, bertConfigFrom, bertWeightName, type BertFamily } from './bert.js';
import { DistilBertForMaskedLM, DistilBertForSequenceClassification, DistilBertForTokenClassification, distilBertConfigFrom, distilBertWeightName } from './distilbert.js';
import { DecoderForSequenceClassification, decoderClassifierWeightName, DECODER_HEAD_NAMES } from './decoder_classification.js';
import { readTaskLabels } from './task_config.js';
import { ModelConfig } from '../formats/hf_config.js';
import type { TaskKind, TaskModel } from './task_model.js';

interface Architecture {
  create(config: Record<string, unknown>, source: string): CausalLM;
  /** Checkpoint key -> parameter name, or null to skip the key (legacy buffers). */
  mapWeightName(key: string): string | null;
}

const ARCHITECTURES: Record<string, Architecture> = {
  gpt2: {
    create: (raw, source) => new GPT2LMHeadModel(gpt2ConfigFrom(raw, source), raw),
    mapWeightName: GPT2LMHeadModel.mapWeightName,
  },
  llama: {
    create: (raw, source) => new LlamaForCausalLM(llamaConfigFrom(raw, source), raw),
    mapWeightName: LlamaForCausalLM.mapWeightName,
  },
  qwen3: {
    create: (raw, source) => new Qwen3ForCausalLM(llamaConfigFrom(raw, source), raw),
    mapWeightName: LlamaForCausalLM.mapWeightName,
  },
  gemma3_text: {
    create: (raw, source) => new Gemma3ForCausalLM(gemma3ConfigFrom(raw, source), raw),
    mapWeightName: Gemma3ForCausalLM.mapWeightName,
  },
};
// Same file, same math: Qwen2 adds q/k/v biases; Mistral is a Llama with a sliding window; a
// gemma3 checkpoint's text part (text_config) is gemma3_text.
ARCHITECTURES.qwen2 = ARCHITECTURES.llama;
ARCHITECTURES.mistral = ARCHITECTURES.llama;
ARCHITECTURES.gemma3 = ARCHITECTURES.gemma3_text;

export function architectureFor(config: Record<string, unknown>, source = 'config.json'): Architecture {
  const type = config.model_type;
  if (typeof type !== 'string') throw new Error(`${source}: 'model_type' is missing (one of: ${Object.keys(ARCHITECTURES).join(', ')})`);
  const arch = ARCHITECTURES[type];
  if (!arch) throw new Error(`${source}: model_type '${type}' is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  return arch;
}

export function createModel(config: Record<string, unknown>, source = 'config.json'): CausalLM {
  return architectureFor(config, source).create(config, source);
}

export function supportedModelTypes(): string[] {
  return Object.keys(ARCHITECTURES);
}

/** A model_type that takes task heads: which tasks, how to build one, how checkpoint keys map. */
interface TaskArchitecture {
  tasks: readonly TaskKind[];
  create(config: Record<string, unknown>, source: string, task: TaskKind): TaskModel;
  mapWeightName(key: string): string | null;
}

function bertFamily(family: BertFamily): TaskArchitecture {
  return {
    tasks: ['seq_cls', 'token_cls', 'masked_lm'],
    create: (raw, source, task) => {
      const { config, labels } = bertConfigFrom(raw, source);
      const cls = { seq_cls: BertForSequenceClassification, token_cls: BertForTokenClassification, masked_lm: BertForMaskedLM }[task];
      return new cls(config, labels, raw);
    },
    mapWeightName: (key) => bertWeightName(family, key),
  };
}

function decoderWithHead(type: string): TaskArchitecture {
  const arch = ARCHITECTURES[type];
  return {
    tasks: ['seq_cls'],
    create: (raw, source) => new DecoderForSequenceClassification(arch.create(raw, source), readTaskLabels(new ModelConfig(raw, source)), raw),
    mapWeightName: (key) => decoderClassifierWeightName(arch.mapWeightName, key),
  };
}

const TASK_ARCHITECTURES: Record<string, TaskArchitecture> = {
  bert: bertFamily('bert'),
  roberta: bertFamily('roberta'),
  distilbert: {
    tasks: ['seq_cls', 'token_cls', 'masked_lm'],
    create: (raw, source, task) => {
      const { config, labels } = distilBertConfigFrom(raw, source);
      const cls = { seq_cls: DistilBertForSequenceClassification, token_cls: DistilBertForTokenClassification, masked_lm: DistilBertForMaskedLM }[task];
      return new cls(config, labels, raw);
    },
    mapWeightName: distilBertWeightName,
  },
  ...Object.fromEntries(Object.keys(DECODER_HEAD_NAMES).map((t) => [t, decoderWithHead(t)])),
};

export function taskArchitectureFor(config: Record<string, unknown>, source = 'config.json'): TaskArchitecture {
  const type = config.model_type;
  const arch = typeof type === 'string' ? TASK_ARCHITECTURES[type] : undefined;
  if (!arch) throw new Error(`${source}: model_type '${String(type)}' takes no task head (supported: ${Object.keys(TASK_ARCHITECTURES).join(', ')})`);
  return arch;
}

/** Whether model_type is an encoder (no causal LM of its own: masked LM is its raw-text objective). */
export function isEncoderType(type: unknown): boolean {
  return type === 'bert' || type === 'roberta' || type === 'distilbert';
}

/** The task config.architectures[0] names (BertForSequenceClassification -> seq_cls), or null. */
export function taskOfArchitectures(config: Record<string, unknown>): TaskKind | null {
  const a = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
  if (typeof a !== 'string') return null;
  if (a.endsWith('ForSequenceClassification')) return 'seq_cls';
  if (a.endsWith('ForTokenClassification')) return 'token_cls';
  if (a.endsWith('ForMaskedLM') || a.endsWith('ForPreTraining')) return 'masked_lm';
  return null;
}
