// Opening a model with a task head (BERT family, or a decoder with a score head) for train, eval and
// predict: the weights, a PEFT adapter (SEQ_CLS / TOKEN_CLS, head in modules_to_save), the tokenizer
// and the padding id, decided here once, as run/model.ts does for causal LMs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTaskModel, type TaskLoadOptions } from '../models/load_task.js';
import { taskOfArchitectures } from '../models/registry.js';
import type { TaskKind, TaskModel } from '../models/task_model.js';
import type { TaskLabels } from '../models/task_config.js';
import type { DType } from '../formats/dtype.js';
import { readModelConfig } from '../formats/hf_config.js';
import { readAdapterConfig } from '../formats/peft_adapter.js';
import { adapterTensors, loadAdapter } from '../lora/adapter.js';
import { loadTokenizerDir, resolveTokenizer, type LoadedTokenizer } from '../tokenizers/load.js';
import { defaultPadId } from '../data/types.js';
import { UsageError } from '../util/errors.js';

export interface OpenTaskModelOptions extends Omit<TaskLoadOptions, 'task'> {
  /** A PEFT adapter directory applied to the model (its modules_to_save replace the head). */
  adapter?: string;
  /** --tokenizer NAME|DIR instead of the model's (or the adapter's) tokenizer files. */
  tokenizer?: string;
  /** The head to build; default: the one config.architectures names. */
  task?: TaskKind;
  /** Accept a head the checkpoint (and adapter) lack, freshly initialised: training only; eval and predict refuse it. */
  allowNewHead?: boolean;
  /** The adapter's factors train (resuming); default frozen, PEFT's is_trainable=False. */
  trainableAdapter?: boolean;
}

export interface OpenedTaskModel {
  model: TaskModel;
  tok: LoadedTokenizer | null;
  labels: TaskLabels;
  /** config.json as the model was built from it. */
  config: Record<string, unknown>;
  dtype: DType;
  dir: string;
  adapter: string | null;
  /** Head parameters initialised fresh (neither the checkpoint nor the adapter had them). */
  newlyInitialized: string[];
  /** The id padding rows get: config.pad_token_id (what decoder heads and RoBERTa positions look for), else the tokenizer's. */
  padId: number;
}

const TASK_TYPES: Partial<Record<TaskKind, string>> = { seq_cls: 'SEQ_CLS', token_cls: 'TOKEN_CLS' };

export function openTaskModel(dir: string, opts: OpenTaskModelOptions = {}): OpenedTaskModel {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new UsageError(`${dir}: no config.json (a Hugging Face model directory has config.json and model.safetensors)`);
  const raw = readModelConfig(configPath).raw;
  if (!opts.task && !taskOfArchitectures(raw)) throw new UsageError(noHeadMessage(dir, raw));
  const { adapter, tokenizer, task, allowNewHead, trainableAdapter, ...load } = opts;
  if (adapter) checkAdapterTask(adapter, task ?? taskOfArchitectures(raw)!);
  const loaded = loadTaskModel(dir, { ...load, task });
  const { model } = loaded;
  let fresh = loaded.newlyInitialized;
  if (adapter) {
    loadAdapter(model, adapter, { trainable: trainableAdapter ?? false });
    // PEFT's modules_to_save: the adapter carries the head, so a checkpoint without one is fine.
    const carried = new Set(adapterTensors(model).map(([k]) => k.replace(/^base_model\.model\./, '')));
    fresh = fresh.filter((n) => !carried.has(n));
  }
  if (fresh.length && !allowNewHead) {
    throw new UsageError(`${dir}: the ${model.architecture} head (${fresh.join(', ')}) is not in the checkpoint${adapter ? ' nor in the adapter' : ''}, ` +
      `so its outputs would be random: fine-tune one first (gptune train --model ${dir} --task ${model.task === 'token_cls' ? 'token-cls' : 'seq-cls'} --data labelled.jsonl)`);
  }
  const tok = tokenizer ? resolveTokenizer(tokenizer) : loadTokenizerDir(dir) ?? (adapter ? loadTokenizerDir(adapter) : null);
  const pad = model.hfConfig.pad_token_id;
  const padId = typeof pad === 'number' && pad >= 0 ? pad : tok ? defaultPadId(tok.tokenizer) : 0;
  return { model, tok, labels: model.labels, config: loaded.config, dtype: loaded.dtype, dir, adapter: adapter ?? null, newlyInitialized: fresh, padId };
}

/** The model must have a classification head (eval and predict): a masked-LM checkpoint is refused with what to do instead. */
export function requireClassifier(m: Pick<OpenedTaskModel, 'model' | 'dir'>, command: string): void {
  if (m.model.task === 'masked_lm') {
    throw new UsageError(`${m.dir}: ${m.model.architecture} is a masked-LM checkpoint with no classification head, which ${command} needs: ` +
      `fine-tune one first (gptune train --model ${m.dir} --task seq-cls --data labelled.jsonl)`);
  }
}

function noHeadMessage(dir: string, raw: Record<string, unknown>): string {
  const arch = Array.isArray(raw.architectures) && typeof raw.architectures[0] === 'string' ? raw.architectures[0] : null;
  const what = !arch ? 'config.json names no architecture, so' : /(CausalLM|LMHeadModel)$/.test(arch) ? `${arch} is a causal language model` : `${arch} is a model`;
  return `${dir}: ${what} with no classification head: fine-tune one with ` +
    `gptune train --model ${dir} --task seq-cls --data labelled.jsonl (rows {"text", "label"})`;
}

/** An adapter made for another head (a CAUSAL_LM adapter on a classifier, TOKEN_CLS on SEQ_CLS) is refused before loading. */
function checkAdapterTask(adapter: string, task: TaskKind): void {
  const { path, raw } = readAdapterConfig(adapter);
  const t = raw.task_type;
  const want = TASK_TYPES[task];
  if (typeof t === 'string' && want && t !== want && ['CAUSAL_LM', 'SEQ_CLS', 'TOKEN_CLS'].includes(t)) {
    throw new UsageError(`${path}: task_type '${t}' is for another head; this model's ${task === 'seq_cls' ? 'sequence' : 'token'} classification head takes a '${want}' adapter`);
  }
}
