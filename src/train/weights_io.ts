// Checkpoint hooks for full fine-tuning: every parameter, as a Hugging Face model directory
// (config.json + model.safetensors), so any checkpoint loads with `gptune generate` as it is.
import { join } from 'node:path';
import { loadSafetensors } from '../formats/safetensors.js';
import type { CausalLM } from '../models/causal_lm.js';
import type { Module } from '../nn/module.js';
import { writeModelFiles } from '../models/load.js';
import type { TrainHooks } from './trainer.js';

/** What a full save writes: a causal LM's parameters and the config.json to save (task models: writeTaskModelFiles). */
export type SavableModel = Pick<CausalLM, 'namedParameters' | 'hfConfig'>;

/** Every parameter as model.safetensors (in dtype; checkpoints stay F32 for exact resume) + config.json. */
export function saveFullWeights(dir: string, model: SavableModel, extraFiles: Record<string, string | Uint8Array> = {}, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): void {
  writeModelFiles(dir, model, model.hfConfig, { dtype, extraFiles });
}

export function loadFullWeights(dir: string, model: Module): void {
  const path = join(dir, 'model.safetensors');
  const { tensors } = loadSafetensors(path);
  model.loadTensors((name) => {
    const t = tensors.get(name);
    return t && { data: t.data as Float32Array, shape: t.shape };
  }, path);
}

export function fullFineTuneHooks(model: CausalLM, extraFiles: Record<string, string | Uint8Array> = {}): Pick<TrainHooks, 'saveWeights' | 'loadWeights'> {
  return {
    saveWeights: (dir) => saveFullWeights(dir, model, extraFiles),
    loadWeights: (dir) => loadFullWeights(dir, model),
  };
}
