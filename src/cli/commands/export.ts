// gptune export: parse -> src/run/export.ts -> print.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { EXPORT_OPTIONS, runExport } from '../../run/export.js';

export function registerExport(program: Command): void {
  const cmd = program.command('export')
    .description('export to GGUF (llama.cpp, Ollama, LM Studio): a model, with --adapter merged in f32, or (gguf-lora) the adapter alone');
  addOptions(cmd, EXPORT_OPTIONS).action(() => {
    const { values: o } = readOptions(cmd, EXPORT_OPTIONS);
    const r = runExport(o);
    console.log(`wrote ${r.path} (${r.arch}, ${r.tensors} tensors) and ${r.modelfile}`);
  });
}
