// Loads a Hugging Face model directory as a model with a task head (BERT family, or a decoder with a
// score head), and saves one back. A checkpoint without the asked head (a BertForMaskedLM fine-tuned
// into a classifier) gets the head freshly initialised, as from_pretrained does, and says so.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig } from '../formats/hf_config.js';
import type { DType } from '../formats/dtype.js';
import { shapeStr } from '../tensor/shape.js';
import { loadWeightsInto, saveModel, writeModelFiles, type ModelFileOptions } from './load.js';
import { taskArchitectureFor, taskOfArchitectures } from './registry.js';
import { taskConfigToSave } from './task_config.js';
import type { ProblemType, TaskKind, TaskModel } from './task_model.js';

export interface TaskLoadOptions {
  /** The head to build; default: the one config.architectures names. */
  task?: TaskKind;
  /** Label names by class id, overriding the config's (a fresh head sized for the data). */
  id2label?: string[];
  problemType?: ProblemType | null;
  /** Seeds a freshly initialised head. */
  seed?: number;
}

export interface LoadedTaskModel {
  model: TaskModel;
  /** config.json as the model was built from it (labels applied). */
  config: Record<string, unknown>;
  dtype: DType;
  /** Head parameters the checkpoint lacked, initialised fresh. */
  newlyInitialized: string[];
  dir: string;
}

export function loadTaskModel(dir: string, opts: TaskLoadOptions = {}): LoadedTaskModel {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir}: no config.json (a Hugging Face model directory has config.json and model.safetensors)`);
  let config = readModelConfig(configPath).raw;
  const arch = taskArchitectureFor(config, configPath);
  const task = opts.task ?? taskOfArchitectures(config);
  if (!task) {
    throw new Error(`${configPath}: architectures ${JSON.stringify(config.architectures ?? null)} names no task head; say which (sequence or token classification, masked LM)`);
  }
  if (!arch.tasks.includes(task)) throw new Error(`${configPath}: model_type '${String(config.model_type)}' takes no ${task} head (it takes: ${arch.tasks.join(', ')})`);
  if (opts.id2label) {
    config = { ...config, id2label: Object.fromEntries(opts.id2label.map((n, i) => [String(i), n])),
      label2id: Object.fromEntries(opts.id2label.map((n, i) => [n, i])) };
    delete config.num_labels;
  }
  if (opts.problemType) config = { ...config, problem_type: opts.problemType };
  const model = arch.create(config, configPath, task);
  const { dtype, missing, unused, path } = loadWeightsInto(model, dir, arch.mapWeightName);
  const params = new Map(model.namedParameters());
  const isHead = (n: string) => model.headParameterPrefixes.some((p) => n.startsWith(p));
  const trunkMissing = missing.filter((n) => !isHead(n));
  if (trunkMissing.length) {
    throw new Error(`${path}: missing tensor${trunkMissing.length > 1 ? 's' : ''} ${trunkMissing.slice(0, 5).map((n) => `'${n}' ${shapeStr(params.get(n)!.shape)}`).join(', ')}${trunkMissing.length > 5 ? ` and ${trunkMissing.length - 5} more` : ''}`);
  }
  if (missing.length) {
    model.initWeights(opts.seed ?? 0, new Set(missing));
    process.stderr.write(`gptune: ${model.architecture} head newly initialised (not in ${path}): ${missing.join(', ')}\n`);
  }
  // Another head's tensors (a pre-training checkpoint's cls.* under a classifier) are left out, as HF does.
  if (unused.length) process.stderr.write(`gptune: ${unused.length} tensor(s) in ${path} not used by ${model.architecture}: ${unused.slice(0, 5).join(', ')}\n`);
  return { model, config, dtype, newlyInitialized: missing, dir };
}

/** A task model's config.json: the base config's keys with architectures, id2label/label2id and problem_type set. */
export function taskModelConfig(model: TaskModel): Record<string, unknown> {
  return taskConfigToSave(model.hfConfig, model.architecture, model.task === 'masked_lm' ? null : model.labels);
}

/** Weights and the task config.json (and extraFiles) written into dir as they are, for a folder the caller stages. */
export function writeTaskModelFiles(dir: string, model: TaskModel, opts: Pick<ModelFileOptions, 'dtype' | 'extraFiles'> = {}): void {
  writeModelFiles(dir, model, taskModelConfig(model), opts);
}

/** The same through the output staging (saveModel). */
export function saveTaskModel(dir: string, model: TaskModel, opts: Pick<ModelFileOptions, 'dtype' | 'extraFiles'> = {}): void {
  saveModel(dir, model, taskModelConfig(model), opts);
}
