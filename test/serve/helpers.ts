// Shared setup for the serve tests: the shipped base model and a LoRA adapter for it, saved once.
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { loadModel } from '../../src/models/load.js';
import { applyLora, saveAdapter } from '../../src/lora/index.js';
import { tempDir } from '../helpers/temp_dir.js';

export const BASE_MODEL = join(fixturePath(), '..', '..', 'assets', 'base-model');
export const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');

let adapterDir: string | null = null;

/**
 * A PEFT adapter for the base model with non-zero factors (init_lora_weights false draws lora_B
 * too), so its outputs differ from the base's.
 */
export function baseAdapter(): string {
  if (adapterDir) return adapterDir;
  const { model } = loadModel(BASE_MODEL);
  applyLora(model, { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'mlp.c_fc'], init_lora_weights: false }, { seed: 3 });
  adapterDir = join(tempDir('serve-'), 'adapter');
  saveAdapter(model, adapterDir);
  return adapterDir;
}
