// What `gptune train` does, as a library function taking the same options object: open or create the
// model, load the data, apply LoRA, train, and save the result (an HF model dir or a PEFT adapter).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '../models/registry.js';
import type { CausalLM } from '../models/causal_lm.js';
import { resolveTokenizer, tokenizerFilesToSave, type LoadedTokenizer } from '../tokenizers/load.js';
import { Batches, evalBatches, loadCorpus, loadTaskData, describeDrops, defaultPadId, detectDataKind, type DataFormat, type SequenceDataset, type TextTokenizer, type TaskFormat, type CorpusFormat } from '../data/index.js';
import { applyLora, saveAdapter, loraCheckpointHooks } from '../lora/index.js';
import type { TrainHooks, TrainSummary } from '../train/trainer.js';
import { fullFineTuneHooks, saveFullWeights } from '../train/weights_io.js';
import { backend } from '../backend/select.js';
import { prepareOutputDir } from '../util/output_dir.js';
import { TRAIN_OUTPUT } from '../formats/output_files.js';
import { writeRunResult } from '../train/run_output.js';
import { UsageError, GptuneError } from '../util/errors.js';
import { openModel, taskEncoding, withTokenizerEos } from './model.js';
import { DEFAULT_LR, INIT_SEQ_LEN, MAX_DEFAULT_SEQ_LEN, loraTargets, type TrainRunOptions } from './train_options.js';
import { isMaskedLMRun, runMaskedLMTraining, type PreparedMaskedLM } from './train_mlm.js';
import { distributed, shardBatches, type Distributed } from '../train/distributed.js';
import { runTrainLoop, type Log } from './train_loop.js';
import { prepareTaskTraining, runTaskTraining, taskRunKind, type PreparedTaskTraining } from './train_task.js';

export type { Log };

/** Everything a run needs, decided from the options: what `gptune train --verbose` prints as its config. */
export interface PreparedTraining {
  kind: 'causal_lm';
  model: CausalLM;
  tok: LoadedTokenizer | null;
  method: 'full' | 'lora';
  lr: number;
  seqLen: number;
  maxSteps: number;
  warmupSteps: number;
  batches: Batches;
  valSet: SequenceDataset | null;
  padId: number;
  generationConfig: Record<string, unknown> | null;
  /** Ids that end a generated answer (eval during and after training). */
  eosIds: number[];
  /** Files saved beside the trained model (tokenizer, generation_config.json). */
  extraFiles: Record<string, string>;
  /** The tokenizer's files, with the ChatML template when chat rows were trained with it (tokenizerFilesToSave). */
  tokenizerFiles: Record<string, string>;
  dataSummary: Record<string, unknown>;
  /** The options with every rule applied: saved as train_config.json. */
  resolved: Record<string, unknown>;
  /** The MPI job (batches then holds global batches of --batch-size x ranks), or null. */
  dist: Distributed | null;
}

// The rules behind the options whose default depends on others (declared in train_options.ts).
const lrRule = (o: TrainRunOptions, method: 'full' | 'lora') => DEFAULT_LR[o.init ? 'init' : method];

/** A prepared run: language modelling (below) or a task head (train_task.ts). */
export type PreparedRun = PreparedTraining | PreparedTaskTraining;

export function prepareTraining(o: TrainRunOptions, log: Log = () => {}): PreparedRun {
  if (isMaskedLMRun(o)) throw new UsageError('an encoder on raw text trains as a masked LM: use runTraining (or prepareMaskedLM)');
  // Labelled rows, a classification checkpoint or --task: a task-head run (HF's AutoModelFor<Task>).
  if (isMaskedLMRun(o)) throw new UsageError('an encoder on raw text trains as a masked LM: use runTraining (or prepareMaskedLM)');
  const task = taskRunKind(o);
  if (task) return prepareTaskTraining(o, task, log);
  const dist = distributed(o.distributed);
  if (dist && !dist.isRoot) log = () => {};
  const ranks = dist?.size ?? 1;
  if ((o.model === undefined) === (o.init === undefined)) throw new UsageError('give exactly one of --model DIR and --init ARCH');
  // Refuse a --out holding someone else's files before any time goes into loading.
  prepareOutputDir(o.out, { ...TRAIN_OUTPUT, overwrite: o.overwrite, resume: o.resume, inputs: { '--model': o.model } });
  // The method is decided before loading: a LoRA base stays frozen, so bf16/f16 weights stay 16-bit.
  const kind = detectDataKind(o.data, o.format as DataFormat);
  // From scratch every parameter trains; LoRA needs a pretrained base.
  const method = o.method ?? (kind === 'task' && !o.init ? 'lora' : 'full');
  if (method === 'lora' && o.init) throw new UsageError('--method lora needs a pretrained --model (from scratch, train every parameter)');
  if (o.baseQuant && method !== 'lora') throw new UsageError(`--base-quant ${o.baseQuant} needs --method lora (quantized weights are frozen)`);
  let model: CausalLM, tok: LoadedTokenizer | null, generationConfig: Record<string, unknown> | null, eosIds: number[];
  if (o.model) {
    const opened = openModel(o.model, { tokenizer: o.tokenizer, keepStoredDtype: method === 'lora', baseQuant: o.baseQuant });
    ({ model, tok, generationConfig, eosIds } = opened);
  } else {
    tok = resolveTokenizer(o.tokenizer ?? 'gpt2');
    ({ model, generationConfig } = initModel(o, tok));
    eosIds = withTokenizerEos([generationConfig.eos_token_id as number], tok);
  }
  if (!tok && (kind === 'task' || !o.data.endsWith('.jsonl'))) throw new UsageError(`${o.model} has no tokenizer files: give --tokenizer (or pre-tokenized {"input_ids"} data)`);
  const lr = o.lr ?? lrRule(o, method);
  const seqLen = o.seqLen ?? Math.min(model.maxPositions, MAX_DEFAULT_SEQ_LEN);
  if (seqLen > model.maxPositions) throw new UsageError(`--seq-len ${seqLen} is beyond the model's context of ${model.maxPositions} positions`);

  // Data.
  const textTok: TextTokenizer = tok?.tokenizer ?? { encode: () => [], decode: () => '', vocabSize: model.vocabSize, bosId: null, eosId: null, padId: null };
  let trainSet: SequenceDataset, valSet: SequenceDataset | null, dataSummary: Record<string, unknown>;
  let chatRows = false; // chat rows rendered with the model's template or the ChatML fallback (saved with the result)
  if (kind === 'task') {
    const data = loadTaskData(o.data, textTok, {
      maxLength: Math.min(o.maxLength ?? seqLen, seqLen), truncation: o.truncation, format: o.format as TaskFormat | 'auto', skipBadRows: o.skipBadRows,
      valFraction: o.valFraction, valData: o.valData, ...taskEncoding(tok!),
    });
    ({ train: trainSet, val: valSet } = data);
    dataSummary = { kind, ...data.summary };
    const s = data.summary;
    chatRows = Object.values(s.files).some((f) => f === 'messages' || f === 'sharegpt');
    const cut = `${s.truncated} truncated${s.answersCut ? ` (${s.answersCut} answers cut, trained without EOS)` : ''}`;
    const dropped = `${s.dropped} dropped${s.dropped ? ` (${describeDrops(s.droppedBy)})` : ''}`;
    log(`data: ${s.kept} examples (${cut}, ${dropped}${s.skippedRows ? `, ${s.skippedRows} bad rows skipped` : ''}), ${s.train} train / ${s.val} val, ${s.labelTokens} completion tokens`);
  } else {
    const corpus = loadCorpus(o.data, textTok, { seqLen, format: o.format as CorpusFormat | 'auto', valFraction: o.valFraction, valData: o.valData, skipBadRows: o.skipBadRows, cacheDir: o.cacheDir });
    ({ train: trainSet, val: valSet } = corpus);
    dataSummary = { kind, ...corpus.summary };
    const s = corpus.summary;
    log(`data: ${s.tokens} tokens in ${s.documents} documents -> ${s.train} train / ${s.val} val sequences of ${seqLen}${s.cacheBuilt ? ' (token cache built)' : ''}`);
  }
  if (trainSet.size === 0) throw new GptuneError(`no training sequences (the data is shorter than one sequence of ${seqLen} tokens?)`, { file: o.data });

  // Method.
  if (method === 'lora') {
    const loraAlpha = o.loraAlpha ?? 2 * o.loraR;
    const summary = applyLora(model, { r: o.loraR, lora_alpha: loraAlpha, lora_dropout: o.loraDropout, target_modules: loraTargets(o.loraTargets), use_rslora: o.useRslora, base_model_name_or_path: o.model ?? null }, { seed: o.seed });
    log(`lora: r ${o.loraR}, alpha ${loraAlpha} on ${summary.adapted.length} modules; ${summary.trainableParams.toLocaleString()} trainable of ${summary.totalParams.toLocaleString()} parameters`);
  }

  const padId = tok ? defaultPadId(tok.tokenizer) : 0;
  // Under MPI every rank reads the global batch one process would (same order) and trains on its rows.
  const batches = new Batches(trainSet, { batchSize: o.batchSize * ranks, seqLen, padId, shuffle: true, seed: o.seed, packing: o.packing });
  const stepsPerEpoch = Math.max(1, Math.ceil(batches.batchesPerEpoch / o.gradAccum));
  const maxSteps = o.maxSteps ?? Math.max(1, Math.round(o.epochs * stepsPerEpoch));
  const warmupSteps = o.warmupSteps ?? Math.round(o.warmupRatio * maxSteps);
  const resolved = { ...o, ranks, method, lr, seqLen, maxSteps, warmupSteps, loraAlpha: method === 'lora' ? o.loraAlpha ?? 2 * o.loraR : o.loraAlpha, backend: backend().name };
  const tokenizerFiles = tok ? tokenizerFilesToSave(tok, chatRows) : {};
  const extraFiles: Record<string, string> = { ...tokenizerFiles };
  if (generationConfig) extraFiles['generation_config.json'] = JSON.stringify(generationConfig, null, 2) + '\n';
  log(`train: ${maxSteps} steps (${stepsPerEpoch} per epoch) of ${o.batchSize}x${o.gradAccum} sequences${dist ? ` on each of ${ranks} MPI ranks` : ''}, lr ${lr}, ${method} fine-tuning on the ${backend().name} backend`);
  return { kind: 'causal_lm', model, tok, generationConfig, eosIds, method, lr, seqLen, maxSteps, warmupSteps, batches, valSet, padId, extraFiles, tokenizerFiles, dataSummary, resolved, dist };
}

function initModel(o: TrainRunOptions, tok: LoadedTokenizer): { model: CausalLM; generationConfig: Record<string, unknown> } {
  const vocab = o.vocabSize ?? tok.tokenizer.vocabSize;
  const positions = o.seqLen ?? INIT_SEQ_LEN;
  const eos = tok.tokenizer.eosId ?? 0;
  const bos = tok.tokenizer.bosId ?? eos;
  // Hugging Face's own defaults for each config class, at the sizes the options give.
  const config: Record<string, unknown> = o.init === 'gpt2'
    ? { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: vocab, n_positions: positions, n_ctx: positions, n_embd: o.nEmbd, n_layer: o.nLayer, n_head: o.nHead, n_inner: null, activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0, layer_norm_epsilon: 1e-5, initializer_range: 0.02, scale_attn_weights: true, tie_word_embeddings: true, bos_token_id: bos, eos_token_id: eos }
    : { model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: vocab, hidden_size: o.nEmbd, intermediate_size: llamaIntermediate(o.nEmbd), num_hidden_layers: o.nLayer, num_attention_heads: o.nHead, num_key_value_heads: o.nKvHead ?? o.nHead, max_position_embeddings: positions, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.02, bos_token_id: bos, eos_token_id: eos };
  const model = createModel(config, '--init');
  model.initWeights(o.seed);
  return { model, generationConfig: { bos_token_id: bos, eos_token_id: eos } };
}

/** SwiGLU's hidden size: 8/3 of the model width (Llama's ratio), rounded to a multiple of 32. */
function llamaIntermediate(width: number): number {
  return Math.round((width * 8) / 3 / 32) * 32;
}

export interface TrainingResult {
  summary: TrainSummary;
  prepared: PreparedRun | PreparedMaskedLM;
}

/** `gptune train`: prepare, train, and save the run's result and record into o.out. */
export async function runTraining(o: TrainRunOptions, log: Log = () => {}, prepared?: PreparedRun): Promise<TrainingResult> {
  // An encoder on raw text trains as a masked LM (src/run/train_mlm.ts).
  if (!prepared && isMaskedLMRun(o)) return runMaskedLMTraining(o, log);
  const run = prepared ?? prepareTraining(o, log);
  if (run.kind === 'classification') return runTaskTraining(o, run, log);
  const p = run;
  const { model } = p;
  const weightHooks: Pick<TrainHooks, 'saveWeights' | 'loadWeights'> = p.method === 'full'
    ? fullFineTuneHooks(model, p.extraFiles)
    : loraCheckpointHooks(model);
  const valSet = p.valSet;
  const dist = p.dist;
  const summary = await runTrainLoop(o, p, model, dist ? shardBatches(p.batches, dist.rank, dist.size) : p.batches, {
    ...weightHooks,
    evalBatches: valSet && valSet.size > 0 ? () => evalBatches(valSet, { batchSize: o.batchSize, seqLen: p.seqLen, padId: p.padId, packing: o.packing }) : undefined,
  }, log);

  // The run's result in --out: an HF model dir (full) or a PEFT adapter dir (LoRA), plus the record;
  // a stopped run leaves only its checkpoint (see writeRunResult).
  if (dist === null || dist.isRoot) writeRunResult(o.out, summary, { config: p.resolved, data: p.dataSummary }, (dir) => {
    if (p.method === 'full') saveFullWeights(dir, model, p.extraFiles, o.saveDtype);
    else {
      saveAdapter(model, dir);
      for (const [name, content] of Object.entries(p.tokenizerFiles)) writeFileSync(join(dir, name), content);
    }
  });
  // The other ranks wait until rank 0 has written the result, then the job ends together.
  if (dist) { dist.barrier(); dist.finalize(); }
  return { summary, prepared: p };
}
