// Loads a Hugging Face model directory (config.json + model.safetensors or shards) into a CausalLM,
// tensor by tensor (F16/BF16 converted to f32 one at a time), and saves one back.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../formats/checkpoint.js';
import { saveSafetensors, type Tensor as FileTensor } from '../formats/safetensors.js';
import type { DType } from '../formats/dtype.js';
import { shapeStr } from '../tensor/shape.js';
import { writeOutputDir } from '../util/output_dir.js';
import { MODEL_OUTPUT } from '../formats/output_files.js';
import { architectureFor } from './registry.js';
import type { CausalLM } from './causal_lm.js';

export interface LoadedModel {
  model: CausalLM;
  config: Record<string, unknown>;
  /** generation_config.json when present. */
  generationConfig: Record<string, unknown> | null;
  /** The dtype the weights were stored in (a merge saves back in it). */
  dtype: DType;
  dir: string;
}

export function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v;
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

export function loadModel(dir: string): LoadedModel {
  if (!existsSync(dir)) throw new Error(`${dir}: no such model directory`);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir}: no config.json (a Hugging Face model directory has config.json and model.safetensors)`);
  const config = readJson(configPath);
  const arch = architectureFor(config, configPath);
  const model = arch.create(config, configPath);
  const genPath = join(dir, 'generation_config.json');
  const generationConfig = existsSync(genPath) ? readJson(genPath) : null;

  const source = openCheckpoint(dir);
  const params = new Map(model.namedParameters());
  const loaded = new Set<string>();
  const unused: string[] = [];
  let dtype: DType = 'F32';
  try {
    for (const key of source.names()) {
      const name = arch.mapWeightName(key);
      if (name === null) continue;
      const p = params.get(name);
      if (!p) {
        // A tied head stored anyway (tie_word_embeddings true) is what HF ignores too.
        if (name !== 'lm_head.weight') unused.push(key);
        continue;
      }
      const info = source.info(key);
      if (info.shape.length !== p.shape.length || info.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`${source.path}: tensor '${key}' has shape ${shapeStr(info.shape)}, the config expects ${shapeStr(p.shape)}`);
      }
      if (info.dtype === 'F16' || info.dtype === 'BF16') dtype = info.dtype;
      p.data.set(source.readFloat32(key));
      loaded.add(name);
    }
  } finally {
    source.close();
  }
  const missing = [...params.keys()].filter((n) => !loaded.has(n));
  if (missing.length) {
    throw new Error(`${source.path}: missing tensor${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((n) => `'${n}' ${shapeStr(params.get(n)!.shape)}`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  }
  if (unused.length) {
    process.stderr.write(`gptune: ${unused.length} tensor(s) in ${source.path} are not used by ${String(config.model_type)}: ${unused.slice(0, 5).join(', ')}\n`);
  }
  return { model, config, generationConfig, dtype, dir };
}

/**
 * Saves model weights (in dtype) with config.json and, when given, generation_config.json and
 * tokenizer files, into dir (created if missing). Each file is staged, fsynced and renamed over
 * its target; files of an older model or adapter there are removed, anything else is kept.
 */
export function saveModel(dir: string, model: CausalLM, config: Record<string, unknown>,
  { dtype = 'F32' as DType, generationConfig = null as Record<string, unknown> | null, extraFiles = {} as Record<string, string | Uint8Array> } = {}): void {
  writeOutputDir(dir, MODEL_OUTPUT, (stage) => {
    const tensors: Array<[string, FileTensor]> = model.namedParameters().map(([name, p]) => [name, { dtype, shape: [...p.shape], data: p.data }]);
    saveSafetensors(join(stage, 'model.safetensors'), tensors);
    const torchDtype = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype as 'F32'] ?? 'float32';
    writeFileSync(join(stage, 'config.json'), JSON.stringify({ ...config, torch_dtype: torchDtype }, null, 2) + '\n');
    if (generationConfig) writeFileSync(join(stage, 'generation_config.json'), JSON.stringify(generationConfig, null, 2) + '\n');
    for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(stage, name), content);
  });
}
