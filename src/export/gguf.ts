// `gptune export --format gguf`: a Hugging Face model directory (optionally with a LoRA adapter
// merged in f32) -> one GGUF file that llama.cpp, Ollama and LM Studio run, plus an Ollama Modelfile.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeGguf, type GgmlType, type GgufTensor, type GgufValue } from '../formats/gguf.js';
import { openModel } from '../run/model.js';
import { readModelConfig } from '../formats/hf_config.js';
import type { GPT2Config } from '../models/gpt2.js';
import type { LlamaConfig } from '../models/llama.js';
import { fuseLora } from '../lora/index.js';
import { applyTransform, ggufArchOf, mapTensor, type GgufArch } from './gguf_tensors.js';
import { tokenizerMetadata } from './gguf_tokenizer.js';
import { writeModelfile } from './modelfile.js';
import { quantizeGgmlBlocks } from '../backend/quant_weight.js';

export type GgufDType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0';
export const GGUF_DTYPES: readonly GgufDType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'];

/** llama_ftype of a whole file (general.file_type). */
const FILE_TYPE: Record<GgufDType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };
const TENSOR_TYPE: Record<GgufDType, GgmlType> = { f32: 'F32', f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0', q4_0: 'Q4_0' };

export interface ExportGgufOptions {
  /** Hugging Face model directory (config.json, safetensors, tokenizer files). */
  model: string;
  /** PEFT adapter directory merged into the weights (in f32) before export. */
  adapter?: string;
  dtype: GgufDType;
  out: string;
  /** Replace an existing out file (default: refuse). */
  overwrite?: boolean;
  /** general.name; default the model directory's name. */
  name?: string;
}

export interface ExportResult {
  path: string;
  modelfile: string;
  arch: GgufArch;
  tensors: number;
}

export function refuseExisting(out: string, overwrite: boolean | undefined): void {
  if (!overwrite && existsSync(out)) throw new Error(`${out}: already exists (pass --overwrite to replace it)`);
}

/**
 * The type llama.cpp's converter gives a tensor: 1-D tensors, biases and position embeddings stay
 * f32; q8_0 and q4_0 fall back to f16 where a row is not a whole number of 32-value blocks. The blocks
 * are formats/ggml_quant.ts's, the same bytes --base-quant keeps in memory.
 */
export function tensorType(ggufName: string, shape: readonly number[], dtype: GgufDType): GgmlType {
  if (shape.length <= 1 || !ggufName.endsWith('.weight') || ggufName.startsWith('position_embd.')) return 'F32';
  if ((dtype === 'q8_0' || dtype === 'q4_0') && shape[shape.length - 1] % 32 !== 0) return 'F16';
  return TENSOR_TYPE[dtype];
}

/** {arch}.* hyperparameters as llama.cpp's loader reads them. */
export function archMetadata(arch: GgufArch, config: Record<string, unknown>): Array<[string, GgufValue]> {
  const u32 = (key: string, value: number): [string, GgufValue] => [`${arch}.${key}`, { type: 'u32', value }];
  const f32 = (key: string, value: number): [string, GgufValue] => [`${arch}.${key}`, { type: 'f32', value }];
  if (arch === 'gpt2') {
    const c = config as unknown as GPT2Config;
    return [
      u32('context_length', c.n_positions), u32('embedding_length', c.n_embd),
      u32('feed_forward_length', c.n_inner ?? 4 * c.n_embd), u32('block_count', c.n_layer),
      u32('attention.head_count', c.n_head), f32('attention.layer_norm_epsilon', c.layer_norm_epsilon),
    ];
  }
  const c = config as unknown as LlamaConfig;
  const meta: Array<[string, GgufValue]> = [
    u32('vocab_size', c.vocab_size),
    u32('context_length', c.max_position_embeddings), u32('embedding_length', c.hidden_size),
    u32('feed_forward_length', c.intermediate_size), u32('block_count', c.num_hidden_layers),
    u32('attention.head_count', c.num_attention_heads), u32('attention.head_count_kv', c.num_key_value_heads),
    f32('attention.layer_norm_rms_epsilon', c.rms_norm_eps), f32('rope.freq_base', c.rope.rope_theta),
    u32('rope.dimension_count', c.head_dim),
  ];
  if (c.head_dim !== c.hidden_size / c.num_attention_heads) meta.push(u32('attention.key_length', c.head_dim), u32('attention.value_length', c.head_dim));
  if (c.rope.rope_type === 'linear') {
    meta.push([`${arch}.rope.scaling.type`, { type: 'string', value: 'linear' }], f32('rope.scaling.factor', c.rope.factor));
  } else if (c.rope.rope_type !== 'default') {
    throw new Error(`config.json: rope_type '${c.rope.rope_type}' has no GGUF export yet (default and linear have)`);
  }
  return meta;
}

export function generalMetadata(arch: GgufArch, name: string, type: 'model' | 'adapter'): Array<[string, GgufValue]> {
  return [
    ['general.architecture', { type: 'string', value: arch }],
    ['general.type', { type: 'string', value: type }],
    ['general.name', { type: 'string', value: name }],
  ];
}

/** Exports a model (and merged adapter) to GGUF at opts.out, with an Ollama Modelfile beside it. */
export function exportGguf(opts: ExportGgufOptions): ExportResult {
  if (!GGUF_DTYPES.includes(opts.dtype)) throw new Error(`--dtype must be one of ${GGUF_DTYPES.join(', ')}, got '${opts.dtype}'`);
  refuseExisting(opts.out, opts.overwrite);
  const arch = ggufArchOf(readModelConfig(join(opts.model, 'config.json')).modelType);
  const loaded = openModel(opts.model, { adapter: opts.adapter });
  if (opts.adapter) fuseLora(loaded.model);
  const tok = loaded.tok;
  if (!tok) throw new Error(`${opts.model}: no tokenizer files (tokenizer.json or vocab.json + merges.txt); llama.cpp needs the vocabulary inside the GGUF`);
  const cfg = loaded.model.config as unknown as Record<string, unknown>;
  const heads = arch === 'gpt2' ? { heads: 0, kvHeads: 0 }
    : { heads: cfg.num_attention_heads as number, kvHeads: cfg.num_key_value_heads as number };
  const eosIds = loaded.eosIds;

  const tensors: GgufTensor[] = [];
  for (const [hfName, p] of loaded.model.namedParameters()) {
    const m = mapTensor(arch, hfName, heads);
    const shape = m.transform === 'transpose' ? [p.shape[1], p.shape[0]] : [...p.shape];
    tensors.push({ name: m.name, shape, type: tensorType(m.name, shape, opts.dtype), data: () => applyTransform(m.transform, p.shape, p.data).data });
  }
  const name = opts.name ?? basename(opts.model.replace(/\/+$/, ''));
  const metadata: Array<[string, GgufValue]> = [
    ...generalMetadata(arch, name, 'model'),
    ['general.file_type', { type: 'u32', value: FILE_TYPE[opts.dtype] }],
    ['general.quantization_version', { type: 'u32', value: 2 }],
    ['general.alignment', { type: 'u32', value: 32 }],
    ...archMetadata(arch, cfg),
    ...tokenizerMetadata(tok, { vocabSize: loaded.model.vocabSize, dir: opts.model, eosIds }),
  ];
  writeGguf(opts.out, { metadata, tensors }, quantizeGgmlBlocks);
  const modelfile = writeModelfile(opts.out, { from: opts.out, tokenizer: tok, eosIds });
  return { path: opts.out, modelfile, arch, tensors: tensors.length };
}
