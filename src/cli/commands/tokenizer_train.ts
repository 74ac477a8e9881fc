// gptune tokenizer train: a byte-level BPE tokenizer (GPT-2's pre-tokenization) from text, saved
// as tokenizer.json (+ vocab.json, merges.txt, tokenizer_config.json) that Hugging Face loads.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { num, UsageError } from '../errors.js';
import { listSources, readRows } from '../../data/index.js';
import { trainBpe, saveTrainedTokenizer } from '../../tokenizers/train_bpe.js';

/** The texts of a data path: each .txt file whole, or each JSONL row's "text". */
export function* textsOf(path: string): Generator<string> {
  for (const file of listSources(path)) {
    if (/\.(jsonl|json|ndjson)$/.test(file)) {
      for (const { value, line } of readRows(file)) {
        const t = (value as { text?: unknown }).text;
        if (typeof t !== 'string') throw new Error(`${file}:${line}: a row needs a "text" string`);
        yield t;
      }
    } else {
      yield readFileSync(file, 'utf8');
    }
  }
}

export function registerTokenizerTrain(program: Command): void {
  const tok = program.command('tokenizer').description('tokenizer tools');
  tok.command('train')
    .description('train a byte-level BPE tokenizer on text')
    .requiredOption('--data <path>', '.txt file or folder, or JSONL {"text"} rows')
    .requiredOption('--vocab-size <n>', 'vocabulary size, special tokens included', num('--vocab-size', { int: true, min: 257 }))
    .requiredOption('--out <dir>', 'where to write tokenizer.json and friends')
    .option('--special-tokens <list>', 'comma-separated special tokens (default <|endoftext|>)')
    .option('--model-max-length <n>', 'recorded in tokenizer_config.json', num('--model-max-length', { int: true, min: 1 }), 1024)
    .action((f: { data: string; vocabSize: number; out: string; specialTokens?: string; modelMaxLength: number }) => {
      const specialTokens = f.specialTokens ? f.specialTokens.split(',').map((s) => s.trim()).filter(Boolean) : ['<|endoftext|>'];
      if (specialTokens.length === 0) throw new UsageError('--special-tokens is empty');
      const t0 = performance.now();
      const result = trainBpe(textsOf(f.data), { vocabSize: f.vocabSize, specialTokens });
      saveTrainedTokenizer(f.out, result, { modelMaxLength: f.modelMaxLength, specialTokens });
      const n = Object.keys(result.vocab).length;
      console.log(`trained a ${n}-token byte-level BPE (${result.merges.length} merges) in ${((performance.now() - t0) / 1000).toFixed(1)}s; saved to ${f.out}`);
    });
}
