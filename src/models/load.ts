// Loads a Hugging Face model directory (config.json + model.safetensors or shards) into a CausalLM,
// tensor by tensor (F16/BF16 converted to f32 one at a time), and saves one back.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../formats/checkpoint.js';
import { saveSafetensors, type Tensor as FileTensor } from '../formats/safetensors.js';
import type { DType } from '../formats/dtype.js';
import { shapeStr } from '../tensor/shape.js';
import { Linear } from '../nn/layers.js';
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

export interface LoadOptions {
  /**
   * Keep the weights of linear layers in the checkpoint's dtype when it is BF16 or F16 (half the
   * memory; GEMMs widen them exactly, so outputs equal the f32 path's). Such weights are frozen:
   * for inference and LoRA, not full fine-tuning.
   */
  keepStoredDtype?: boolean;
}

export function loadModel(dir: string, { keepStoredDtype = false }: LoadOptions = {}): LoadedModel {
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
  const linearWeights = new Set(model.namedModules().flatMap(([, m]) => m instanceof Linear ? [m.weight] : []));
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
      if (keepStoredDtype && (info.dtype === 'F16' || info.dtype === 'BF16') && linearWeights.has(p)) {
        const bytes = source.readBytes(key);
        p.storeHalf({ dtype: info.dtype, bits: new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) });
      } else {
        p.data.set(source.readFloat32(key));
      }
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
 * tokenizer files, into dir. Written to a temporary directory and renamed, so a failure leaves
 * no half-written model.
 */
export function saveModel(dir: string, model: CausalLM, config: Record<string, unknown>,
  { dtype = 'F32' as DType, generationConfig = null as Record<string, unknown> | null, extraFiles = {} as Record<string, string | Uint8Array> } = {}): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const tensors: Array<[string, FileTensor]> = model.namedParameters().map(([name, p]) => [name, { dtype, shape: [...p.shape], data: p.toFloat32() }]);
  saveSafetensors(join(tmp, 'model.safetensors'), tensors);
  const torchDtype = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype as 'F32'] ?? 'float32';
  writeFileSync(join(tmp, 'config.json'), JSON.stringify({ ...config, torch_dtype: torchDtype }, null, 2) + '\n');
  if (generationConfig) writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify(generationConfig, null, 2) + '\n');
  for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(tmp, name), content);
  if (existsSync(dir)) {
    const old = `${dir}.old-${process.pid}`;
    renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, dir);
  }
}
