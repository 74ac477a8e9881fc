// The files each kind of output consists of: what a command owns in its --out folder (and so may
// replace with --overwrite), and what it supersedes. Everything else in the folder is the user's.
import type { NamePattern, OutputSpec } from '../util/output_dir.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './peft_adapter.js';

/** A Hugging Face model folder's own files (weights, sharded or not, and configs). */
export const MODEL_FILES: readonly NamePattern[] = [
  'config.json', 'generation_config.json', 'model.safetensors', 'model.safetensors.index.json', /model-\d+-of-\d+\.safetensors/,
];
export const ADAPTER_FILES: readonly NamePattern[] = [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE];
export const TOKENIZER_FILES: readonly NamePattern[] = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'vocab.json', 'merges.txt', 'vocab.txt',
  'tokenizer.model', 'chat_template.jinja', 'chat_template.json',
];
/** What a training run writes beside its weights. */
export const RUN_FILES: readonly NamePattern[] = [
  'metrics.jsonl', 'loss_chart.svg', 'train_config.json', 'summary.json', 'best', /best\.(?:tmp|old)-\d+/,
  /checkpoint-\d+/, /checkpoint-\d+\.(?:tmp|old)-\d+/,
];

type Spec = Pick<OutputSpec, 'command' | 'owns' | 'stale'>;

/** A saved model (merge, export to HF): an older model's or adapter's leftovers are removed. */
export const MODEL_OUTPUT: Spec = { command: 'merge', owns: [...MODEL_FILES, ...TOKENIZER_FILES], stale: [...MODEL_FILES, ...TOKENIZER_FILES, ...ADAPTER_FILES] };
/** A training run's folder; the final weights supersede the other method's (an adapter beside a full model). */
export const TRAIN_OUTPUT: Spec = {
  command: 'train', owns: [...MODEL_FILES, ...ADAPTER_FILES, ...TOKENIZER_FILES, ...RUN_FILES], stale: [...MODEL_FILES, ...ADAPTER_FILES, ...TOKENIZER_FILES],
};
export const TOKENIZER_OUTPUT: Spec = { command: 'tokenizer train', owns: TOKENIZER_FILES, stale: TOKENIZER_FILES };
