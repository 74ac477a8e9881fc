// `gptune merge`: fold a LoRA adapter into its base and save a plain Hugging Face checkpoint.
import { opt, type OptionValues } from './option.js';
import { SAVE_DTYPES } from './train_options.js';
import { mergeAdapter, type MergeResult } from '../lora/index.js';

export const MERGE_OPTIONS = {
  model: opt.string({ arg: 'dir', required: true, help: 'the base model directory' }),
  adapter: opt.string({ arg: 'dir', required: true, help: 'the LoRA adapter directory (PEFT format)' }),
  out: opt.string({ arg: 'dir', required: true, help: 'where to save the merged model' }),
  overwrite: opt.bool({ default: false, help: 'replace an earlier model in --out (other files there are kept)' }),
  dtype: opt.choice(SAVE_DTYPES, { defaultRule: 'the base\'s dtype', help: 'save in this dtype' }),
};
export type MergeRunOptions = OptionValues<typeof MERGE_OPTIONS>;

export function runMerge(o: MergeRunOptions): MergeResult {
  return mergeAdapter(o.model, o.adapter, o.out, { dtype: o.dtype, overwrite: o.overwrite });
}
