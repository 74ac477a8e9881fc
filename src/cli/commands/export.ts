// gptune export: a model (optionally with its LoRA adapter merged) or an adapter alone as GGUF for
// llama.cpp / Ollama / LM Studio, with an Ollama Modelfile beside it.
import { basename } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { exportGguf, GGUF_DTYPES, type GgufDType } from '../../export/gguf.js';
import { exportGgufLora, type GgufLoraDType } from '../../export/gguf_lora.js';

interface ExportFlags { model: string; adapter?: string; format: string; dtype: string; out?: string; overwrite?: boolean; baseGguf?: string }

export function registerExport(program: Command): void {
  program.command('export')
    .description('export to GGUF (llama.cpp, Ollama, LM Studio): a model, with --adapter merged in f32, or (gguf-lora) the adapter alone')
    .requiredOption('--model <dir>', 'the (base) model directory')
    .option('--adapter <dir>', 'a LoRA adapter (PEFT format): merged into the model for gguf, exported alone for gguf-lora')
    .option('--format <f>', 'gguf or gguf-lora', 'gguf')
    .option('--dtype <d>', `tensor type: ${GGUF_DTYPES.join(', ')} (gguf-lora: f32, f16, bf16)`, 'f16')
    .option('--out <file>', 'the .gguf to write (default <model or adapter name>.<dtype>.gguf here)')
    .option('--overwrite', 'replace an existing --out file')
    .option('--base-gguf <file>', 'gguf-lora: the exported base, for the Modelfile\'s FROM line')
    .action((f: ExportFlags) => {
      const name = (d: string) => basename(d.replace(/\/+$/, ''));
      let r;
      if (f.format === 'gguf') {
        if (!GGUF_DTYPES.includes(f.dtype as GgufDType)) throw new UsageError(`--dtype must be one of ${GGUF_DTYPES.join(', ')}, got '${f.dtype}'`);
        const out = f.out ?? `${name(f.model)}${f.adapter ? `-${name(f.adapter)}` : ''}.${f.dtype}.gguf`;
        r = exportGguf({ model: f.model, adapter: f.adapter, dtype: f.dtype as GgufDType, out, overwrite: f.overwrite });
      } else if (f.format === 'gguf-lora') {
        if (!f.adapter) throw new UsageError('--format gguf-lora needs --adapter');
        if (!['f32', 'f16', 'bf16'].includes(f.dtype)) throw new UsageError(`--dtype for gguf-lora must be f32, f16 or bf16, got '${f.dtype}'`);
        const out = f.out ?? `${name(f.adapter)}.${f.dtype}.gguf`;
        r = exportGgufLora({ model: f.model, adapter: f.adapter, dtype: f.dtype as GgufLoraDType, out, overwrite: f.overwrite, baseGguf: f.baseGguf });
      } else {
        throw new UsageError(`--format must be gguf or gguf-lora, got '${f.format}'`);
      }
      console.log(`wrote ${r.path} (${r.arch}, ${r.tensors} tensors) and ${r.modelfile}`);
    });
}
