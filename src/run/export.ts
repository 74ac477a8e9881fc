// `gptune export`: a model (optionally with its LoRA adapter merged) or an adapter alone as GGUF for
// llama.cpp / Ollama / LM Studio, with an Ollama Modelfile beside it.
import { basename } from 'node:path';
import { opt, type OptionValues } from './option.js';
import { exportGguf, GGUF_DTYPES, type GgufDType, type ExportResult } from '../export/gguf.js';
import { exportGgufLora, type GgufLoraDType } from '../export/gguf_lora.js';
import { UsageError } from '../util/errors.js';

const LORA_DTYPES = ['f32', 'f16', 'bf16'] as const;

export const EXPORT_OPTIONS = {
  model: opt.string({ arg: 'dir', required: true, help: 'the (base) model directory' }),
  adapter: opt.string({ arg: 'dir', help: 'a LoRA adapter (PEFT format): merged into the model for gguf, exported alone for gguf-lora' }),
  format: opt.choice(['gguf', 'gguf-lora'], { default: 'gguf', help: 'a whole model, or the adapter alone' }),
  dtype: opt.choice(GGUF_DTYPES, { default: 'f16', help: 'tensor type (gguf-lora: f32, f16 or bf16)' }),
  out: opt.string({ arg: 'file', defaultRule: '<model or adapter name>.<dtype>.gguf here', help: 'the .gguf to write' }),
  overwrite: opt.bool({ default: false, help: 'replace an existing --out file' }),
  baseGguf: opt.string({ arg: 'file', help: 'gguf-lora: the exported base, for the Modelfile\'s FROM line' }),
};
export type ExportRunOptions = OptionValues<typeof EXPORT_OPTIONS>;

export function runExport(o: ExportRunOptions): ExportResult {
  const name = (d: string) => basename(d.replace(/\/+$/, ''));
  if (o.format === 'gguf') {
    const out = o.out ?? `${name(o.model)}${o.adapter ? `-${name(o.adapter)}` : ''}.${o.dtype}.gguf`;
    return exportGguf({ model: o.model, adapter: o.adapter, dtype: o.dtype as GgufDType, out, overwrite: o.overwrite });
  }
  if (!o.adapter) throw new UsageError('--format gguf-lora needs --adapter');
  if (!(LORA_DTYPES as readonly string[]).includes(o.dtype)) throw new UsageError(`--dtype for gguf-lora must be ${LORA_DTYPES.join(', ')}, got '${o.dtype}'`);
  const out = o.out ?? `${name(o.adapter)}.${o.dtype}.gguf`;
  return exportGgufLora({ model: o.model, adapter: o.adapter, dtype: o.dtype as GgufLoraDType, out, overwrite: o.overwrite, baseGguf: o.baseGguf });
}
