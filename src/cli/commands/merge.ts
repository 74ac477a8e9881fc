// gptune merge: fold a LoRA adapter into its base and save a plain Hugging Face checkpoint.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { mergeAdapter } from '../../lora/index.js';

export function registerMerge(program: Command): void {
  program.command('merge')
    .description('merge a LoRA adapter into its base model (in f32) and save it in the base\'s dtype')
    .requiredOption('--model <dir>', 'the base model directory')
    .requiredOption('--adapter <dir>', 'the LoRA adapter directory (PEFT format)')
    .requiredOption('--out <dir>', 'where to save the merged model')
    .option('--overwrite', 'replace an earlier model in --out (other files there are kept)')
    .option('--dtype <d>', 'save as F32, F16 or BF16 instead of the base\'s dtype')
    .action((f: { model: string; adapter: string; out: string; dtype?: string; overwrite?: boolean }) => {
      if (f.dtype !== undefined && !['F32', 'F16', 'BF16'].includes(f.dtype)) throw new UsageError(`--dtype must be F32, F16 or BF16, got '${f.dtype}'`);
      const r = mergeAdapter(f.model, f.adapter, f.out, { dtype: f.dtype as 'F32' | undefined, overwrite: f.overwrite === true });
      console.log(`merged ${r.adapted.length} adapted modules into ${f.out} (${r.dtype}); copied ${r.copied.join(', ') || 'no tokenizer files'}`);
    });
}
