// gptune tokenize: parse -> src/run/tokenize.ts -> print the ids.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { TOKENIZE_OPTIONS, runTokenize } from '../../run/tokenize.js';

export function registerTokenize(program: Command): void {
  const cmd = program.command('tokenize').description('print the token ids of a text');
  addOptions(cmd, TOKENIZE_OPTIONS).action(() => {
    const { values: o } = readOptions(cmd, TOKENIZE_OPTIONS);
    const ids = runTokenize(o);
    process.stdout.write(o.json ? JSON.stringify({ ids }) + '\n' : ids.join(' ') + '\n');
  });
}
