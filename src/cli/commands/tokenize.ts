// gptune tokenize: the ids a text becomes, to check what a template or a prompt really is.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { loadTokenizerDir, resolveTokenizer } from '../../tokenizers/load.js';

export function registerTokenize(program: Command): void {
  program.command('tokenize')
    .description('print the token ids of a text')
    .option('--model <dir>', 'use the tokenizer of this model directory')
    .option('--tokenizer <name|dir>', 'a built-in tokenizer (gpt2) or a tokenizer directory')
    .option('--text <text>', 'the text to tokenize')
    .option('--file <path>', 'tokenize this file\'s contents')
    .option('--no-special', 'do not add special tokens (BOS) the tokenizer would add')
    .option('--json', 'print {"ids": [...]}')
    .action((f: { model?: string; tokenizer?: string; text?: string; file?: string; special: boolean; json?: boolean }) => {
      if ((f.model === undefined) === (f.tokenizer === undefined)) throw new UsageError('give exactly one of --model and --tokenizer');
      if ((f.text === undefined) === (f.file === undefined)) throw new UsageError('give exactly one of --text and --file');
      const tok = f.model ? loadTokenizerDir(f.model) : resolveTokenizer(f.tokenizer!);
      if (!tok) throw new UsageError(`${f.model} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt)`);
      let text = f.text;
      if (f.file !== undefined) {
        try {
          text = readFileSync(f.file, 'utf8');
        } catch (e) {
          throw new Error(`${f.file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
      }
      const ids = tok.tokenizer.encode(text!, { addSpecialTokens: f.special });
      process.stdout.write(f.json ? JSON.stringify({ ids }) + '\n' : ids.join(' ') + '\n');
    });
}
