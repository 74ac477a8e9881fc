// model_type -> architecture. One entry per file in this folder; an unknown type is refused by name.
import { GPT2LMHeadModel, gpt2ConfigFrom } from './gpt2.js';
import { LlamaForCausalLM, llamaConfigFrom } from './llama.js';
import { Qwen3ForCausalLM } from './qwen3.js';
import { Gemma3ForCausalLM, gemma3ConfigFrom } from './gemma3.js';
import type { CausalLM } from './causal_lm.js';

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
