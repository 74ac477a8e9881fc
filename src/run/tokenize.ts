// `gptune tokenize` (what a text really becomes) and `gptune tokenizer train` (a byte-level BPE
// tokenizer from your text).
import { readFileSync } from 'node:fs';
import { opt, type OptionValues } from './option.js';
import { loadTokenizerDir, resolveTokenizer } from '../tokenizers/load.js';
import { trainBpe, saveTrainedTokenizer } from '../tokenizers/train_bpe.js';
import { readTrainingTexts } from '../tokenizers/train_corpus.js';
import { UsageError, GptuneError } from '../util/errors.js';
import { prepareOutputDir, writeOutputDir } from '../util/output_dir.js';
import { TOKENIZER_OUTPUT } from '../formats/output_files.js';

export const TOKENIZE_OPTIONS = {
  model: opt.string({ arg: 'dir', help: 'use the tokenizer of this model directory' }),
  tokenizer: opt.string({ arg: 'name|dir', help: 'a built-in tokenizer (gpt2) or a tokenizer directory' }),
  text: opt.string({ arg: 'text', help: 'the text to tokenize' }),
  file: opt.string({ arg: 'path', help: 'tokenize this file\'s contents' }),
  special: opt.bool({ default: true, help: 'add the special tokens (BOS) the tokenizer would add (--no-special: none)' }),
  json: opt.bool({ default: false, help: 'print {"ids": [...]}' }),
};
export type TokenizeRunOptions = OptionValues<typeof TOKENIZE_OPTIONS>;

export function runTokenize(o: TokenizeRunOptions): number[] {
  if ((o.model === undefined) === (o.tokenizer === undefined)) throw new UsageError('give exactly one of --model and --tokenizer');
  if ((o.text === undefined) === (o.file === undefined)) throw new UsageError('give exactly one of --text and --file');
  const tok = o.model ? loadTokenizerDir(o.model) : resolveTokenizer(o.tokenizer!);
  if (!tok) throw new UsageError(`${o.model} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt)`);
  let text = o.text;
  if (o.file !== undefined) {
    try {
      text = readFileSync(o.file, 'utf8');
    } catch (e) {
      throw new GptuneError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file: o.file });
    }
  }
  return tok.tokenizer.encode(text!, { addSpecialTokens: o.special });
}

export const TOKENIZER_TRAIN_OPTIONS = {
  data: opt.string({ arg: 'path', required: true, help: '.txt file or folder, or JSONL {"text"} rows' }),
  vocabSize: opt.int({ min: 257, required: true, help: 'vocabulary size, special tokens included' }),
  out: opt.string({ arg: 'dir', required: true, help: 'where to write tokenizer.json and friends' }),
  specialTokens: opt.list({ default: ['<|endoftext|>'], check: (l) => (l.length ? undefined : 'must name at least one token'), help: 'comma-separated special tokens' }),
  modelMaxLength: opt.int({ min: 1, default: 1024, help: 'recorded in tokenizer_config.json' }),
  overwrite: opt.bool({ default: false, help: 'replace tokenizer files already in --out (other files are kept)' }),
};
export type TokenizerTrainRunOptions = OptionValues<typeof TOKENIZER_TRAIN_OPTIONS>;

export async function runTokenizerTrain(o: TokenizerTrainRunOptions): Promise<{ vocab: number; merges: number; seconds: number }> {
  prepareOutputDir(o.out, { ...TOKENIZER_OUTPUT, overwrite: o.overwrite });
  const t0 = performance.now();
  const result = await trainBpe(readTrainingTexts(o.data), { vocabSize: o.vocabSize, specialTokens: o.specialTokens });
  writeOutputDir(o.out, TOKENIZER_OUTPUT, (dir) => saveTrainedTokenizer(dir, result, { modelMaxLength: o.modelMaxLength }));
  return { vocab: Object.keys(result.vocab).length, merges: result.merges.length, seconds: (performance.now() - t0) / 1000 };
}
