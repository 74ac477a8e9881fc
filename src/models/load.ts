// Loads a Hugging Face model directory (config.json + model.safetensors or shards) into a CausalLM,
// tensor by tensor (F16/BF16 converted to f32 one at a time), and saves one back.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../formats/checkpoint.js';
import { saveSafetensors, type HalfWidener, type Tensor as FileTensor } from '../formats/safetensors.js';
import { backend } from '../backend/select.js';
import type { DType } from '../formats/dtype.js';
import { quantizable, type QuantDType } from '../backend/quant_weight.js';
import { shapeStr } from '../tensor/shape.js';
import { writeOutputDir } from '../util/output_dir.js';
import { MODEL_OUTPUT } from '../formats/output_files.js';
import { Embedding, Linear } from '../nn/layers.js';
import { architectureFor } from './registry.js';
import { configToSave, readGenerationConfig, readModelConfig, type GenerationConfig } from '../formats/hf_config.js';
import type { CausalLM } from './causal_lm.js';
import type { Module } from '../nn/module.js';

export interface LoadedModel {
  model: CausalLM;
  /** config.json as read: unknown keys and layout kept, so a save writes them back. */
  config: Record<string, unknown>;
  /** generation_config.json as read, when present (carried along on save). */
  generationConfig: Record<string, unknown> | null;
  /** The same file, typed. */
  generation: GenerationConfig | null;
  /** The dtype the weights were stored in (a merge saves back in it). */
  dtype: DType;
  dir: string;
}

export interface LoadOptions {
  /**
   * Keep the weights of linear and embedding layers in the checkpoint's dtype when it is BF16 or
   * F16, as views of the memory-mapped file (no copy; GEMMs and lookups widen them exactly, so
   * outputs equal the f32 path's). Such weights are frozen: for inference and LoRA, not full fine-tuning.
   */
  keepStoredDtype?: boolean;
  /**
   * Quantize the frozen linear weights (not the lm_head, as QLoRA leaves it) to ggml's Q8_0 (int8)
   * or Q4_0 (q4) blocks of 32 along the input dimension (rows of other lengths stay as they are), or
   * to bitsandbytes' NF4 with double quantization (nf4; any weight of whole 64-value blocks).
   */
  baseQuant?: BaseQuant;
}

/** --base-quant's values and the block type each keeps weights in (ggml's, or bitsandbytes' NF4). */
export const BASE_QUANTS = ['int8', 'q4', 'nf4'] as const;
export type BaseQuant = (typeof BASE_QUANTS)[number];
export const BASE_QUANT_TYPE: Record<BaseQuant, QuantDType> = { int8: 'Q8_0', q4: 'Q4_0', nf4: 'NF4' };

export function loadModel(dir: string, { keepStoredDtype = false, baseQuant }: LoadOptions = {}): LoadedModel {
  if (!existsSync(dir)) throw new Error(`${dir}: no such model directory`);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir}: no config.json (a Hugging Face model directory has config.json and model.safetensors)`);
  const config = readModelConfig(configPath).raw;
  const arch = architectureFor(config, configPath);
  const model = arch.create(config, configPath);
  const genPath = join(dir, 'generation_config.json');
  const generation = existsSync(genPath) ? readGenerationConfig(genPath) : null;

  const { dtype, missing, unused, path } = loadWeightsInto(model, dir, arch.mapWeightName, { keepStoredDtype, baseQuant });
  const params = new Map(model.namedParameters());
  if (missing.length) {
    throw new Error(`${path}: missing tensor${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).map((n) => `'${n}' ${shapeStr(params.get(n)!.shape)}`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  }
  if (unused.length) {
    process.stderr.write(`gptune: ${unused.length} tensor(s) in ${path} are not used by ${String(config.model_type)}: ${unused.slice(0, 5).join(', ')}\n`);
  }
  return { model, config, generationConfig: generation?.raw ?? null, generation, dtype, dir };
}

/**
 * Reads the checkpoint in dir into model's parameters by name (mapName: checkpoint key -> parameter,
 * null to skip), checking shapes. Returns the stored dtype, the parameters it did not find and the
 * keys no parameter took; the caller decides which of those are errors.
 */
export function loadWeightsInto(model: Module, dir: string, mapName: (key: string) => string | null,
  { keepStoredDtype = false, baseQuant }: LoadOptions = {}): { dtype: DType; missing: string[]; unused: string[]; path: string } {
  // Weights kept in their stored dtype are views of the memory-mapped file: no copy, no fresh memory.
  const source = openCheckpoint(dir, { map: keepStoredDtype });
  // Weights quantized at load are read with plain reads into one reused f32 buffer: read through the
  // mapping, their pages would stay resident as long as it lives (the embedding's bf16 view keeps it).
  const quantSource = baseQuant && keepStoredDtype ? openCheckpoint(dir) : source;
  let scratch = new Float32Array(0);
  const params = new Map(model.namedParameters());
  // Kept in the stored dtype: what GEMMs and lookups read as 16 bits (not norms and biases, which stay f32).
  const halfCapable = new Set(model.namedModules().flatMap(([, m]) => m instanceof Linear || m instanceof Embedding ? [m.weight] : []));
  // Quantized weights and their layout: Conv1D's [in, out] is quantized transposed (blocks along in).
  const quant = baseQuant ? BASE_QUANT_TYPE[baseQuant] : null;
  const quantLayout = new Map(quant ? model.namedModules().flatMap(([name, m]) =>
    m instanceof Linear && name !== 'lm_head' && quantizable(quant, m.outFeatures, m.inFeatures)
      ? [[m.weight, m.layout] as const] : []) : []);
  const loaded = new Set<string>();
  const unused: string[] = [];
  let dtype: DType = 'F32';
  const be = backend();
  const widen: HalfWidener = (out, src, n, bf16) => be.halfToF32(out, src, n, bf16);
  const total = source.names().reduce((s, k) => s + (source.info(k).end - source.info(k).begin), 0);
  let bytes = 0;
  const progress = loadProgress(source.path, total);
  try {
    for (const key of source.names()) {
      const name = mapName(key);
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
      const layout = quantLayout.get(p);
      if (quant && layout) {
        if (scratch.length < p.size) scratch = new Float32Array(p.size);
        const w = scratch.subarray(0, p.size);
        quantSource.readFloat32Into(key, w, widen);
        p.quantizeFrom(w, quant, layout === 'in_out');
      } else if (keepStoredDtype && (info.dtype === 'F16' || info.dtype === 'BF16') && halfCapable.has(p)) {
        p.storeHalf({ dtype: info.dtype, bits: source.readHalfBits(key) });
      } else {
        source.readFloat32Into(key, p.data, widen);
      }
      loaded.add(name);
      bytes += info.end - info.begin;
      progress(bytes);
    }
  } finally {
    source.close();
    if (quantSource !== source) quantSource.close();
    progress(-1);
  }
  const missing = [...params.keys()].filter((n) => !loaded.has(n));
  return { dtype, missing, unused, path: source.path };
}

/** Reports reading progress on stderr once a load has taken over two seconds; bytes < 0 ends the line. */
function loadProgress(path: string, total: number): (bytes: number) => void {
  const start = Date.now();
  let shown = false, last = 0;
  return (bytes) => {
    const now = Date.now();
    if (bytes < 0) { if (shown) process.stderr.write('\n'); return; }
    if (now - start < 2000 || now - last < 250) return;
    last = now;
    shown = true;
    const gb = (b: number) => (b / 1e9).toFixed(2);
    process.stderr.write(`\rgptune: loading ${path}: ${gb(bytes)} / ${gb(total)} GB (${Math.round((100 * bytes) / total)}%, ${((now - start) / 1000).toFixed(1)} s)`);
  };
}

function checkSaveDtype(dtype: DType): asserts dtype is 'F32' | 'F16' | 'BF16' {
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new Error(`saveModel: dtype ${dtype} is not a float dtype (F32, F16, BF16)`);
}

export interface ModelFileOptions {
  dtype?: DType;
  generationConfig?: Record<string, unknown> | null;
  /** Written as they are (tokenizer files). */
  extraFiles?: Record<string, string | Uint8Array>;
}

/**
 * Writes model weights (in dtype) with config.json and, when given, generation_config.json and
 * tokenizer files, into dir as they are: for a folder whose caller stages it (a run's output, a checkpoint).
 */
export function writeModelFiles(dir: string, model: Pick<Module, 'namedParameters'>, config: Record<string, unknown>,
  { dtype = 'F32', generationConfig = null, extraFiles = {} }: ModelFileOptions = {}): void {
  checkSaveDtype(dtype);
  const tensors: Array<[string, FileTensor]> = model.namedParameters().map(([name, p]) => [name, { dtype, shape: [...p.shape], data: p.toFloat32() }]);
  saveSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configToSave(config, dtype), null, 2) + '\n');
  if (generationConfig) writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(generationConfig, null, 2) + '\n');
  for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(dir, name), content);
}

/**
 * writeModelFiles into dir (created if missing) through the output staging: each file is staged,
 * fsynced and renamed over its target; files of an older model or adapter there are removed, anything else is kept.
 */
export function saveModel(dir: string, model: Module, config: Record<string, unknown>, opts: ModelFileOptions = {}): void {
  checkSaveDtype(opts.dtype ?? 'F32'); // before the folder is touched
  writeOutputDir(dir, MODEL_OUTPUT, (stage) => writeModelFiles(stage, model, config, opts));
}
