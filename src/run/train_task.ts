// `gptune train` with a task head (sequence or token classification), as Hugging Face's
// AutoModelFor<Task>.from_pretrained + Trainer (+ PEFT SEQ_CLS/TOKEN_CLS) do it: labels from the model's
// trained head or from the data, a fresh head where the checkpoint has none, full or LoRA, one loop.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig, ModelConfig } from '../formats/hf_config.js';
import { taskArchitectureFor, taskOfArchitectures, isEncoderType } from '../models/registry.js';
import { readTaskLabels, PROBLEM_TYPES } from '../models/task_config.js';
import type { ProblemType as HeadProblemType, TaskModel } from '../models/task_model.js';
import { dataLabels, loadClassificationRows, type ClassificationRow, type ProblemType } from '../data/classification.js';
import { ClassificationBatches, classificationEvalBatches, type ClassificationBatchOptions } from '../data/classification_batches.js';
import { detectClassificationData } from '../data/detect.js';
import { takesTypeIds } from '../tokenizers/encode_inputs.js';
import type { LoadedTokenizer } from '../tokenizers/load.js';
import { openTaskModel } from './task_open.js';
import { applyLora, saveAdapter, loraCheckpointHooks } from '../lora/index.js';
import { TASK_MODULES_TO_SAVE } from '../lora/config.js';
import { taskBatchLoss } from '../train/task_losses.js';
import { classWeights, countPerClass } from '../train/class_weights.js';
import { loadFullWeights } from '../train/weights_io.js';
import { taskModelConfig, writeTaskModelFiles } from '../models/load_task.js';
import { writeRunResult } from '../train/run_output.js';
import { distributed } from '../train/distributed.js';
import { backend } from '../backend/select.js';
import { prepareOutputDir } from '../util/output_dir.js';
import { TRAIN_OUTPUT } from '../formats/output_files.js';
import { GptuneError, UsageError } from '../util/errors.js';
import { runTrainLoop, type Log } from './train_loop.js';
import { DEFAULT_LR, MAX_DEFAULT_SEQ_LEN, loraTargets, type TrainRunOptions } from './train_options.js';
import type { TrainingResult } from './train.js';

export type TaskRunKind = 'seq_cls' | 'token_cls';

export interface PreparedTaskTraining {
  kind: 'classification';
  model: TaskModel;
  tok: LoadedTokenizer | null;
  task: TaskRunKind;
  problemType: ProblemType;
  method: 'full' | 'lora';
  lr: number;
  maxSteps: number;
  warmupSteps: number;
  /** Tokens per row, special tokens included (longer rows were cut). */
  maxLength: number;
  batches: ClassificationBatches;
  valRows: ClassificationRow[] | null;
  batchOptions: Omit<ClassificationBatchOptions, 'shuffle' | 'seed'>;
  /** The tokenizer's files, saved beside the model or adapter. */
  tokenizerFiles: Record<string, string>;
  dataSummary: Record<string, unknown>;
  resolved: Record<string, unknown>;
  /** Task runs are single-process (kept for the CLI's report). */
  dist: null;
}

/**
 * Whether `gptune train` trains a task head, and which: --task, else the head the --model's config names
 * (a classifier keeps training as one), else what labelled --data rows ask for; null: a language-model run.
 */
export function taskRunKind(o: TrainRunOptions): TaskRunKind | null {
  if (o.task === 'mlm') return null; // train_mlm.ts
  if (o.task) return o.task === 'seq-cls' ? 'seq_cls' : 'token_cls';
  const configPath = o.model ? join(o.model, 'config.json') : null;
  if (configPath && existsSync(configPath)) {
    const t = taskOfArchitectures(readModelConfig(configPath).raw);
    if (t === 'seq_cls' || t === 'token_cls') return t;
  }
  const rows = existsSync(o.data) && statSync(o.data).isFile() ? detectClassificationData(o.data) : null;
  return rows === null ? null : rows === 'tokens' ? 'token_cls' : 'seq_cls';
}

export function prepareTaskTraining(o: TrainRunOptions, task: TaskRunKind, log: Log = () => {}): PreparedTaskTraining {
  if (!o.model) throw new UsageError(`a ${flagOf(task)} head is trained on a pretrained --model (from scratch, --init trains a language model)`);
  if (distributed(o.distributed)) throw new UsageError('classification training runs in one process (not under MPI)');
  if (o.baseQuant) throw new UsageError('--base-quant is not supported with a classification head (its base loads in f32)');
  if (o.packing) throw new UsageError('--packing is for language-model rows; classification rows are padded per batch');
  prepareOutputDir(o.out, { ...TRAIN_OUTPUT, overwrite: o.overwrite, resume: o.resume, inputs: { '--model': o.model } });
  const configPath = join(o.model, 'config.json');
  if (!existsSync(configPath)) throw new UsageError(`${o.model}: no config.json (a Hugging Face model directory has config.json and model.safetensors)`);
  const config = readModelConfig(configPath).raw;
  taskArchitectureFor(config, configPath); // an unsupported model_type fails before the data is read
  // A head the checkpoint already trained keeps its labels; a fresh one takes the data's.
  const headTrained = taskOfArchitectures(config) === task;

  // problem_type: the config's, else the data's (HF infers it from the labels' type at the first batch).
  const configured = PROBLEM_TYPES.includes(config.problem_type as HeadProblemType) ? config.problem_type as ProblemType : null;
  const wanted: ProblemType | null = task === 'token_cls' ? 'token_classification' : configured;
  const fromData = dataLabels(o.data, wanted);
  const problemType = fromData.problemType;
  if (task === 'seq_cls' && problemType === 'token_classification') throw new UsageError(`${o.data} holds {"tokens", "tags"} rows: they train a token-classification head (--task token-cls)`);
  const modelLabels = readTaskLabels(new ModelConfig(config, configPath)).id2label;
  let id2label: string[];
  if (headTrained) id2label = modelLabels;
  else if (problemType === 'regression') id2label = ['LABEL_0']; // HF: num_labels 1
  else id2label = idsInOrder(fromData.label2id, o.data);
  if (id2label.length === 0) throw new GptuneError('no labels in the data (every row is unlabelled)', { file: o.data });
  const label2id = Object.fromEntries(id2label.map((n, i) => [n, i]));

  const opened = openTaskModel(o.model, {
    task, id2label: headTrained ? undefined : id2label, seed: o.seed, tokenizer: o.tokenizer, allowNewHead: true,
    problemType: problemType === 'token_classification' ? null : problemType,
  });
  const { model, tok } = opened;
  const padId = choosePadId(model, tok, log);

  // Rows: the model's positions bound the length ([CLS] ... [SEP] included).
  const maxLength = Math.min(o.maxLength ?? o.seqLen ?? MAX_DEFAULT_SEQ_LEN, model.maxPositions);
  const read = (path: string) => {
    // Without a tokenizer only {"input_ids"} rows load (a text row is refused by file:line).
    const r = loadClassificationRows(path, { tokenizer: tok?.tokenizer ?? null, label2id: problemType === 'regression' ? {} : label2id, maxLength, problemType });
    checkIds(r.rows, r.lines, vocabSize(model), path);
    return r;
  };
  const train = read(o.data);
  let rows = train.rows, valRows: ClassificationRow[] | null = null;
  if (o.valData) valRows = read(o.valData).rows;
  else if (o.valFraction > 0) {
    const n = Math.max(1, Math.round(rows.length * o.valFraction));
    if (n >= rows.length) throw new UsageError(`--val-fraction ${o.valFraction} leaves no training rows of ${rows.length}`);
    valRows = rows.slice(rows.length - n);
    rows = rows.slice(0, rows.length - n);
  }

  const weights = o.classWeights === undefined ? null : taskClassWeights(o.classWeights, problemType, id2label, rows);
  if (weights) log(`class weights: ${id2label.map((n, i) => `${n} ${weights[i].toFixed(4)}`).join(', ')}`);

  const method = o.method ?? 'lora';
  const taskType = task === 'seq_cls' ? 'SEQ_CLS' : 'TOKEN_CLS';
  if (method === 'lora') {
    const loraAlpha = o.loraAlpha ?? 2 * o.loraR;
    const s = applyLora(model, {
      r: o.loraR, lora_alpha: loraAlpha, lora_dropout: o.loraDropout, target_modules: loraTargets(o.loraTargets), use_rslora: o.useRslora,
      task_type: taskType, modules_to_save: [...TASK_MODULES_TO_SAVE[taskType], ...freshModules(opened.newlyInitialized)], base_model_name_or_path: o.model,
    }, { seed: o.seed });
    log(`lora (${taskType}): r ${o.loraR}, alpha ${loraAlpha} on ${s.adapted.length} modules, the head trained in full; ${s.trainableParams.toLocaleString()} trainable of ${s.totalParams.toLocaleString()} parameters`);
  }

  const batchOptions = { batchSize: o.batchSize, padId, problemType, tokenTypes: tok ? takesTypeIds(tok.tokenizer) : true, classWeights: weights };
  const batches = new ClassificationBatches(rows, { ...batchOptions, shuffle: true, seed: o.seed });
  const stepsPerEpoch = Math.max(1, Math.ceil(batches.batchesPerEpoch / o.gradAccum));
  const maxSteps = o.maxSteps ?? Math.max(1, Math.round(o.epochs * stepsPerEpoch));
  const warmupSteps = o.warmupSteps ?? Math.round(o.warmupRatio * maxSteps);
  const lr = o.lr ?? DEFAULT_LR[method];
  const resolved: Record<string, unknown> = {
    ...o, ranks: 1, task: flagOf(task), method, lr, maxLength, maxSteps, warmupSteps, problemType, id2label, padId,
    classWeights: weights ? Array.from(weights) : null, loraAlpha: method === 'lora' ? o.loraAlpha ?? 2 * o.loraR : o.loraAlpha, backend: backend().name,
  };
  const dataSummary = { kind: 'classification', rows: rows.length, val: valRows?.length ?? 0, truncated: train.counts.truncated, perLabel: train.counts.perLabel, labels: id2label };
  log(`${model.architecture}${opened.newlyInitialized.length ? ' (new head)' : ''}: ${id2label.length} labels (${id2label.slice(0, 8).join(', ')}${id2label.length > 8 ? ', ...' : ''}), ${problemType}`);
  log(`data: ${rows.length} train / ${valRows?.length ?? 0} val rows of at most ${maxLength} tokens (${train.counts.truncated} truncated)`);
  log(`train: ${maxSteps} steps (${stepsPerEpoch} per epoch) of ${o.batchSize}x${o.gradAccum} rows, lr ${lr}, ${method} fine-tuning on the ${backend().name} backend`);
  return {
    kind: 'classification', model, tok, task, problemType, method, lr, maxSteps, warmupSteps, maxLength, batches, valRows, batchOptions,
    tokenizerFiles: tok ? { ...tok.files } : {}, dataSummary, resolved, dist: null,
  };
}

/** Trains through the one loop and saves an HF model dir (full) or a PEFT adapter with the head's config (LoRA). */
export async function runTaskTraining(o: TrainRunOptions, p: PreparedTaskTraining, log: Log = () => {}): Promise<TrainingResult> {
  const { model } = p;
  const weightHooks = p.method === 'full'
    ? { saveWeights: (dir: string) => writeTaskModelFiles(dir, model, { extraFiles: p.tokenizerFiles }), loadWeights: (dir: string) => loadFullWeights(dir, model) }
    : loraCheckpointHooks(model);
  const valRows = p.valRows;
  const summary = await runTrainLoop(o, p, model, p.batches, {
    ...weightHooks,
    loss: taskBatchLoss(model, { classWeights: p.batchOptions.classWeights }),
    evalBatches: valRows && valRows.length ? () => classificationEvalBatches(valRows, p.batchOptions) : undefined,
  }, log);
  summary.perplexity = null; // exp(cross-entropy) means nothing for a classifier
  writeRunResult(o.out, summary, { config: p.resolved, data: p.dataSummary }, (dir) => {
    if (p.method === 'full') writeTaskModelFiles(dir, model, { dtype: o.saveDtype, extraFiles: p.tokenizerFiles });
    else {
      saveAdapter(model, dir);
      // PEFT keeps no labels: the head's config.json (architectures, id2label, problem_type, pad_token_id)
      // goes beside the adapter, as `model.config.save_pretrained(out)` would write it.
      writeFileSync(join(dir, 'config.json'), JSON.stringify(taskModelConfig(model), null, 2) + '\n');
      for (const [name, content] of Object.entries(p.tokenizerFiles)) writeFileSync(join(dir, name), content);
    }
  });
  return { summary, prepared: p };
}

/**
 * Fresh head parts outside classifier/score (BERT's pooler under a masked-LM checkpoint): saved with the
 * adapter too, or a reload would draw them anew (PEFT leaves them out, and its reloads differ).
 */
function freshModules(names: readonly string[]): string[] {
  const mods = names.map((n) => n.replace(/\.(weight|bias)$/, '')).filter((m) => !/(^|\.)(classifier|score)(\.|$)/.test(m));
  return [...new Set(mods)];
}

function flagOf(task: TaskRunKind): string {
  return task === 'seq_cls' ? 'seq-cls' : 'token-cls';
}

/** label2id -> names by id (the data's map is 0..n-1 already). */
function idsInOrder(label2id: Record<string, number>, file: string): string[] {
  const names: string[] = [];
  for (const [n, i] of Object.entries(label2id)) names[i] = n;
  if (names.some((n) => n === undefined)) throw new GptuneError('class ids in the data are not 0..n-1', { file });
  return names;
}

/**
 * The id padding gets: config.pad_token_id, else the tokenizer's pad, else EOS (what HF users set for
 * GPT-2 and Llama: `tokenizer.pad_token = tokenizer.eos_token; model.config.pad_token_id = ...`). A decoder
 * head finds each row's last token through it, so it is written into the config (and saved with it).
 */
function choosePadId(model: TaskModel, tok: LoadedTokenizer | null, log: Log): number {
  const cfg = model.hfConfig as Record<string, unknown>;
  if (typeof cfg.pad_token_id === 'number' && cfg.pad_token_id >= 0) return cfg.pad_token_id;
  const eos = Array.isArray(cfg.eos_token_id) ? cfg.eos_token_id[0] : cfg.eos_token_id;
  const pad = tok?.tokenizer.padId ?? tok?.tokenizer.eosId ?? (typeof eos === 'number' ? eos : null);
  if (pad === null) throw new UsageError(`${model.architecture}: config.json has no pad_token_id and the tokenizer no pad or EOS token, so batched rows cannot be padded (set pad_token_id)`);
  if (!isEncoderType(cfg.model_type)) {
    cfg.pad_token_id = pad;
    log(`pad_token_id: ${pad} (the tokenizer's ${tok?.tokenizer.padId != null ? 'pad' : 'EOS'} token; saved in config.json, as HF requires for batches)`);
  }
  return pad;
}

function vocabSize(model: TaskModel): number {
  const v = model.hfConfig.vocab_size;
  return typeof v === 'number' ? v : Infinity;
}

/** Pre-tokenized rows must fit the embedding table: the row named rather than a failed lookup. */
function checkIds(rows: readonly ClassificationRow[], lines: readonly number[], vocab: number, file: string): void {
  rows.forEach((r, i) => {
    const bad = r.inputIds.find((id) => id >= vocab);
    if (bad !== undefined) throw new GptuneError(`token id ${bad} is outside the model's vocabulary (0..${vocab - 1})`, { file, line: lines[i], key: 'input_ids' });
  });
}

/** --class-weights for this problem: CE weights per class (single-label, token), BCE weights per label (multi-label, explicit only). */
function taskClassWeights(spec: string, problem: ProblemType, id2label: string[], rows: readonly ClassificationRow[]): Float32Array {
  if (problem === 'regression') throw new UsageError('--class-weights: a regression head has no classes');
  if (problem === 'multi_label_classification' && spec === 'balanced') {
    throw new UsageError('--class-weights balanced is for single-label and token classification; give one weight per label for multi-label BCE');
  }
  const targets = problem === 'token_classification' ? rows.flatMap((r) => r.tokenLabels ?? []) : rows.map((r) => r.label as number);
  return classWeights(spec, id2label, countPerClass(id2label.length, targets));
}
