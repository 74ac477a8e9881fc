// `gptune merge`: base model + adapter -> a plain Hugging Face checkpoint (PEFT's merge_and_unload,
// then save_pretrained). The delta is added in float32 and the result saved in the base's dtype.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType } from '../formats/dtype.js';
import { loadModel, saveModel } from '../models/load.js';
import { loadAdapter } from './adapter.js';
import { fuseLora } from './inject.js';
import { prepareOutputDir } from '../util/output_dir.js';
import { MODEL_OUTPUT } from '../formats/output_files.js';

/** Files beside the weights that a merged model keeps byte for byte (tokenizer and generation settings). */
export const COPIED_FILES = [
  'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json',
  'vocab.json', 'merges.txt', 'tokenizer.model', 'chat_template.jinja', 'chat_template.json',
];

export interface MergeOptions {
  /** Output dtype; default the base checkpoint's. */
  dtype?: Extract<DType, 'F32' | 'F16' | 'BF16'>;
  /** Replace an earlier model in outDir (other files there are kept). */
  overwrite?: boolean;
}

export interface MergeResult {
  adapted: string[];
  dtype: DType;
  copied: string[];
}

export function mergeAdapter(modelDir: string, adapterDir: string, outDir: string, opts: MergeOptions = {}): MergeResult {
  prepareOutputDir(outDir, { ...MODEL_OUTPUT, overwrite: opts.overwrite ?? false, inputs: { '--model': modelDir, '--adapter': adapterDir } });
  // Saved in the base's own dtype, a half-precision base can stay half in memory: fusing widens,
  // adds and rounds back to it, the bits that saving an f32 merge in that dtype writes.
  const loaded = loadModel(modelDir, { keepStoredDtype: opts.dtype === undefined });
  loadAdapter(loaded.model, adapterDir);
  const adapted = fuseLora(loaded.model);
  const extraFiles: Record<string, Uint8Array> = {};
  for (const name of COPIED_FILES) {
    const p = join(modelDir, name);
    if (existsSync(p)) extraFiles[name] = readFileSync(p);
  }
  const dtype = opts.dtype ?? loaded.dtype;
  saveModel(outDir, loaded.model, loaded.config, { dtype, extraFiles });
  return { adapted, dtype, copied: Object.keys(extraFiles) };
}
