// Checkpoint hooks for full fine-tuning: every parameter, as a Hugging Face model directory
// (config.json + model.safetensors), so any checkpoint loads with `gptune generate` as it is.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadSafetensors, saveSafetensors, type Tensor as FileTensor } from '../formats/safetensors.js';
import type { CausalLM } from '../models/causal_lm.js';
import type { Module } from '../nn/module.js';
import { configToSave } from '../formats/hf_config.js';
import type { TrainHooks } from './trainer.js';

/** What a full save writes: the parameters and the config.json to save (a causal LM, or a task model's task config). */
export type SavableModel = Pick<CausalLM, 'namedParameters' | 'hfConfig'>;

/** Every parameter as model.safetensors (in dtype; checkpoints stay F32 for exact resume) + config.json. */
export function saveFullWeights(dir: string, model: SavableModel, extraFiles: Record<string, string | Uint8Array> = {}, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): void {
  const tensors: Array<[string, FileTensor]> = model.namedParameters().map(([n, p]) => [n, { dtype, shape: [...p.shape], data: p.toFloat32() }]);
  saveSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configToSave(model.hfConfig, dtype), null, 2) + '\n');
  for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(dir, name), content);
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
