// gptune tokenizer train: a byte-level BPE tokenizer (GPT-2's pre-tokenization) from text, saved
// as tokenizer.json (+ vocab.json, merges.txt, tokenizer_config.json) that Hugging Face loads.
import type { Command } from 'commander';
import { num, UsageError } from '../errors.js';
import { trainBpe, saveTrainedTokenizer } from '../../tokenizers/train_bpe.js';
import { readTrainingTexts } from '../../tokenizers/train_corpus.js';
import { prepareOutputDir, writeOutputDir } from '../../util/output_dir.js';
import { TOKENIZER_OUTPUT } from '../../formats/output_files.js';

export function registerTokenizerTrain(program: Command): void {
  const tok = program.command('tokenizer').description('tokenizer tools');
  tok.command('train')
    .description('train a byte-level BPE tokenizer on text')
    .requiredOption('--data <path>', '.txt file or folder, or JSONL {"text"} rows')
    .requiredOption('--vocab-size <n>', 'vocabulary size, special tokens included', num('--vocab-size', { int: true, min: 257 }))
    .requiredOption('--out <dir>', 'where to write tokenizer.json and friends')
    .option('--special-tokens <list>', 'comma-separated special tokens (default <|endoftext|>)')
    .option('--overwrite', 'replace tokenizer files already in --out (other files are kept)')
    .option('--model-max-length <n>', 'recorded in tokenizer_config.json', num('--model-max-length', { int: true, min: 1 }), 1024)
    .action(async (f: { data: string; vocabSize: number; out: string; specialTokens?: string; modelMaxLength: number; overwrite?: boolean }) => {
      const specialTokens = f.specialTokens ? f.specialTokens.split(',').map((s) => s.trim()).filter(Boolean) : ['<|endoftext|>'];
      if (specialTokens.length === 0) throw new UsageError('--special-tokens is empty');
      prepareOutputDir(f.out, { ...TOKENIZER_OUTPUT, overwrite: f.overwrite === true });
      const t0 = performance.now();
      const result = await trainBpe(readTrainingTexts(f.data), { vocabSize: f.vocabSize, specialTokens });
      writeOutputDir(f.out, TOKENIZER_OUTPUT, (dir) => saveTrainedTokenizer(dir, result, { modelMaxLength: f.modelMaxLength }));
      const n = Object.keys(result.vocab).length;
      console.log(`trained a ${n}-token byte-level BPE (${result.merges.length} merges) in ${((performance.now() - t0) / 1000).toFixed(1)}s; saved to ${f.out}`);
    });
}
