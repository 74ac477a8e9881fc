// gptune generate: parse -> src/run/generate.ts -> stream or print JSON.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { GENERATE_OPTIONS, runGenerate } from '../../run/generate.js';

export function registerGenerate(program: Command): void {
  const cmd = program.command('generate').description('generate a continuation of a prompt');
  addOptions(cmd, GENERATE_OPTIONS).action(() => {
    const { values: o } = readOptions(cmd, GENERATE_OPTIONS);
    const r = runGenerate(o, o.json ? undefined : (delta) => process.stdout.write(delta));
    if (r.finishReason === 'context') process.stderr.write(`gptune: generation stopped at the model's context (${r.maxPositions} tokens) after ${r.ids.length} new tokens\n`);
    if (o.json) process.stdout.write(JSON.stringify({ ids: r.ids, text: r.text, finish_reason: r.finishReason, sampling: r.sampling }) + '\n');
    else if (r.hasTokenizer) process.stdout.write('\n');
    else process.stdout.write(r.ids.join(',') + '\n');
  });
}
