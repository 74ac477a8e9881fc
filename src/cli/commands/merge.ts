// gptune merge: parse -> src/run/merge.ts -> print.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { MERGE_OPTIONS, runMerge } from '../../run/merge.js';

export function registerMerge(program: Command): void {
  const cmd = program.command('merge').description('merge a LoRA adapter into its base model (in f32) and save it in the base\'s dtype');
  addOptions(cmd, MERGE_OPTIONS).action(() => {
    const { values: o } = readOptions(cmd, MERGE_OPTIONS);
    const r = runMerge(o);
    console.log(`merged ${r.adapted.length} adapted modules into ${o.out} (${r.dtype}); copied ${r.copied.join(', ') || 'no tokenizer files'}`);
  });
}
