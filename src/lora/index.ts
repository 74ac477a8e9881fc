// LoRA's public surface: config, the LoraLinear wrapper, injection, PEFT adapter files and merging.
export { type LoraConfig, LORA_DEFAULTS, ALL_LINEAR, DEFAULT_TARGET_MODULES, loraConfig, loraConfigToJson, loraScaling } from './config.js';
export { LoraLinear, LoraFactor, type LoraLinearOptions } from './lora_linear.js';
export {
  applyLora, planLora, applyLoraPlan, loraSummary, formatLoraSummary, loraModules, loraParameters, loraConfigOf, mergeLora, unmergeLora, fuseLora,
  type ApplyLoraOptions, type LoraPlan, type LoraPlanEntry, type LoraSummary,
} from './inject.js';
export { saveAdapter, loadAdapter, loadAdapterWeights, adapterTensors, loraCheckpointHooks, type SaveAdapterOptions, type LoadAdapterOptions } from './adapter.js';
export { mergeAdapter, COPIED_FILES, type MergeOptions, type MergeResult } from './merge.js';
