// gptune tokenizer train: parse -> src/run/tokenize.ts -> print.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { TOKENIZER_TRAIN_OPTIONS, runTokenizerTrain } from '../../run/tokenize.js';

export function registerTokenizerTrain(program: Command): void {
  const group = program.command('tokenizer').description('tokenizer tools');
  const cmd = group.command('train').description('train a byte-level BPE tokenizer on text');
  addOptions(cmd, TOKENIZER_TRAIN_OPTIONS).action(async () => {
    const { values: o } = readOptions(cmd, TOKENIZER_TRAIN_OPTIONS);
    const r = await runTokenizerTrain(o);
    console.log(`trained a ${r.vocab}-token byte-level BPE (${r.merges} merges) in ${r.seconds.toFixed(1)}s; saved to ${o.out}`);
  });
}
