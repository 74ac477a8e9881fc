// gptune train: pre-training from scratch, continued pre-training on raw text, and task
// fine-tuning (prompt/completion, Alpaca, chat), each as full fine-tuning or LoRA.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { num, UsageError } from '../errors.js';
import { readConfigFile, resolveOptions } from '../config.js';
import { loadModel } from '../../models/load.js';
import { createModel } from '../../models/registry.js';
import type { CausalLM } from '../../models/causal_lm.js';
import { loadTokenizerDir, resolveTokenizer, type LoadedTokenizer } from '../../tokenizers/load.js';
import { ChatTemplate } from '../../tokenizers/chat_template.js';
import { Batches, evalBatches, loadCorpus, loadTaskData, defaultPadId, detectTaskFormat, firstRow, listSources, type SequenceDataset } from '../../data/index.js';
import { applyLora, saveAdapter, loadAdapterWeights, ALL_LINEAR } from '../../lora/index.js';
import { train, type TrainHooks } from '../../train/trainer.js';
import { fullFineTuneHooks, saveFullWeights } from '../../train/weights_io.js';
import { SCHEDULES, type ScheduleName } from '../../train/schedule.js';
import { backend } from '../../backend/select.js';
import { prepareOutputDir } from '../../util/output_dir.js';
import { TRAIN_OUTPUT } from '../../formats/output_files.js';
import { runExitCode, runStatus, writeRunResult } from '../../train/run_output.js';

/** Every option with its default: one place, typed (mlx-lm's TrainingArgs). */
export const TRAIN_DEFAULTS = {
  model: undefined as string | undefined,
  init: undefined as string | undefined,
  tokenizer: undefined as string | undefined,
  nLayer: 4, nEmbd: 256, nHead: 4, nKvHead: undefined as number | undefined, vocabSize: undefined as number | undefined,
  data: undefined as string | undefined,
  valData: undefined as string | undefined,
  valFraction: 0,
  out: undefined as string | undefined,
  method: undefined as 'full' | 'lora' | undefined,
  format: 'auto',
  epochs: 3,
  maxSteps: undefined as number | undefined,
  batchSize: 8,
  gradAccum: 1,
  lr: undefined as number | undefined,
  weightDecay: 0,
  warmupSteps: 0,
  schedule: 'linear' as ScheduleName,
  maxGradNorm: 1,
  evalEvery: 0,
  saveEvery: 500,
  logEvery: 1,
  seed: 42,
  seqLen: undefined as number | undefined,
  maxLength: undefined as number | undefined,
  truncation: 'left' as 'left' | 'drop',
  packing: false,
  skipBadRows: false,
  cacheDir: undefined as string | undefined,
  loraR: 8,
  loraAlpha: 16,
  loraDropout: 0.05,
  loraTargets: undefined as string | undefined,
  useRslora: false,
  resume: false,
  overwrite: false,
  keepCheckpoints: 2,
  progress: true,
  saveDtype: 'F32' as 'F32' | 'F16' | 'BF16',
};
export type TrainConfig = typeof TRAIN_DEFAULTS;

export function registerTrain(program: Command): void {
  const cmd = program.command('train')
    .description('train a model: from scratch, on raw text, or on a task (full fine-tuning or LoRA)')
    .option('--config <file>', 'YAML or JSON with the options below (flags win)')
    .option('--model <dir>', 'a Hugging Face model directory to start from')
    .option('--init <arch>', 'start from scratch with this architecture (gpt2 or llama)')
    .option('--tokenizer <name|dir>', 'tokenizer for --init (built in: gpt2), or to override the model\'s')
    .option('--n-layer <n>', 'layers (--init)', num('--n-layer', { int: true, min: 1 }))
    .option('--n-embd <n>', 'hidden size (--init)', num('--n-embd', { int: true, min: 1 }))
    .option('--n-head <n>', 'attention heads (--init)', num('--n-head', { int: true, min: 1 }))
    .option('--n-kv-head <n>', 'key/value heads (--init llama)', num('--n-kv-head', { int: true, min: 1 }))
    .option('--vocab-size <n>', 'vocabulary size (--init; default: the tokenizer\'s)', num('--vocab-size', { int: true, min: 1 }))
    .option('--data <path>', 'training data: .txt file or folder, JSONL {"text"}, {"input_ids"}, or task rows')
    .option('--val-data <path>', 'validation data (same formats)')
    .option('--val-fraction <f>', 'hold out this last fraction of the data for validation', num('--val-fraction', { min: 0, max: 0.9 }))
    .option('--out <dir>', 'output directory (a Hugging Face model dir or a PEFT adapter, plus checkpoints)')
    .option('--method <m>', 'full or lora (default: lora for task data, full for raw text)')
    .option('--format <f>', 'data format: auto, text, jsonl-text, jsonl-ids, prompt-completion, alpaca, messages, sharegpt')
    .option('--epochs <n>', 'passes over the data (default 3)', num('--epochs', { min: 0 }))
    .option('--max-steps <n>', 'optimizer steps (overrides --epochs)', num('--max-steps', { int: true, min: 1 }))
    .option('--batch-size <n>', 'sequences per micro-batch (default 8)', num('--batch-size', { int: true, min: 1 }))
    .option('--grad-accum <n>', 'micro-batches per optimizer step (default 1)', num('--grad-accum', { int: true, min: 1 }))
    .option('--lr <x>', 'peak learning rate (default 5e-5 full, 2e-4 LoRA, 6e-4 from scratch)', num('--lr', { min: 0 }))
    .option('--weight-decay <x>', 'AdamW weight decay, not on biases and norms (default 0)', num('--weight-decay', { min: 0 }))
    .option('--warmup-steps <n>', 'linear warmup steps (default 0)', num('--warmup-steps', { int: true, min: 0 }))
    .option('--schedule <s>', 'linear, cosine or constant (default linear)')
    .option('--max-grad-norm <x>', 'clip the global gradient norm; 0 disables (default 1.0)', num('--max-grad-norm', { min: 0 }))
    .option('--eval-every <n>', 'evaluate every n steps (default: at the end)', num('--eval-every', { int: true, min: 0 }))
    .option('--save-every <n>', 'checkpoint every n steps (default 500)', num('--save-every', { int: true, min: 0 }))
    .option('--log-every <n>', 'log every n steps (default 1)', num('--log-every', { int: true, min: 1 }))
    .option('--seed <n>', 'seed for initialisation, shuffling and dropout (default 42)', num('--seed', { int: true, min: 0 }))
    .option('--seq-len <n>', 'tokens per sequence (default: the model\'s context, at most 1024)', num('--seq-len', { int: true, min: 2 }))
    .option('--max-length <n>', 'task data: longest example in tokens (default --seq-len)', num('--max-length', { int: true, min: 2 }))
    .option('--truncation <p>', 'task data longer than --max-length: left (cut the prompt) or drop')
    .option('--packing', 'task data: pack several examples per row (block-diagonal attention)')
    .option('--cache-dir <dir>', 'where token caches go (default $GPTUNE_CACHE_DIR, else ~/.cache/gptune; the data is only read)')
    .option('--skip-bad-rows', 'skip malformed JSONL rows (and count them) instead of failing')
    .option('--lora-r <n>', 'LoRA rank (default 8)', num('--lora-r', { int: true, min: 1 }))
    .option('--lora-alpha <x>', 'LoRA alpha (default 16)', num('--lora-alpha', { min: 0 }))
    .option('--lora-dropout <p>', 'LoRA dropout (default 0.05)', num('--lora-dropout', { min: 0, max: 0.99 }))
    .option('--lora-targets <list>', 'modules to adapt: comma-separated names (suffix match), a regex, or all-linear')
    .option('--use-rslora', 'scale by alpha/sqrt(r) (rank-stabilised LoRA)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--overwrite', 'replace a run already in --out')
    .option('--save-dtype <d>', 'dtype of the final model: F32 (default), F16 or BF16 (checkpoints stay F32)')
    .option('--no-progress', 'no progress bar or step lines')
    .action(async (flags: Record<string, unknown>, command: Command) => {
      const given = new Set(Object.keys(flags).filter((k) => command.getOptionValueSource(k) === 'cli'));
      const file = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
      const { config: _c, ...rest } = flags;
      const cfg = resolveOptions(TRAIN_DEFAULTS, file, rest, given, String(flags.config ?? 'flags'));
      await runTrain(cfg, program.opts().verbose === true);
    });
  return void cmd;
}

/** Whether a data path holds task rows (prompt/completion, Alpaca, chat) rather than text or ids. */
function isTaskData(path: string, format: string): boolean {
  if (['prompt-completion', 'alpaca', 'messages', 'sharegpt'].includes(format)) return true;
  if (format !== 'auto') return false;
  const files = listSources(path);
  const jsonFile = files.find((f) => /\.(jsonl|json|ndjson)$/.test(f));
  if (!jsonFile) return false;
  const row = firstRow(jsonFile);
  if (!row || typeof row !== 'object') return false;
  try {
    detectTaskFormat(row, jsonFile, 1);
    return true;
  } catch {
    return false;
  }
}

function initModel(cfg: TrainConfig, tok: LoadedTokenizer): { model: CausalLM; config: Record<string, unknown> } {
  const vocab = cfg.vocabSize ?? tok.tokenizer.vocabSize;
  const seqLen = cfg.seqLen ?? 256;
  const eos = tok.tokenizer.eosId ?? 0;
  let config: Record<string, unknown>;
  if (cfg.init === 'gpt2') {
    config = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: vocab, n_positions: seqLen, n_ctx: seqLen, n_embd: cfg.nEmbd, n_layer: cfg.nLayer, n_head: cfg.nHead, n_inner: null, activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0, layer_norm_epsilon: 1e-5, initializer_range: 0.02, scale_attn_weights: true, tie_word_embeddings: true, bos_token_id: tok.tokenizer.bosId ?? eos, eos_token_id: eos };
  } else if (cfg.init === 'llama') {
    config = { model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: vocab, hidden_size: cfg.nEmbd, intermediate_size: Math.round((cfg.nEmbd * 8) / 3 / 32) * 32, num_hidden_layers: cfg.nLayer, num_attention_heads: cfg.nHead, num_key_value_heads: cfg.nKvHead ?? cfg.nHead, max_position_embeddings: seqLen, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu', initializer_range: 0.02, bos_token_id: tok.tokenizer.bosId ?? eos, eos_token_id: eos };
  } else {
    throw new UsageError(`--init '${cfg.init}' is not an architecture gptune can initialise (gpt2, llama)`);
  }
  const model = createModel(config, '--init');
  model.initWeights(cfg.seed);
  return { model, config };
}

async function runTrain(cfg: TrainConfig, verbose: boolean): Promise<void> {
  if (!cfg.data) throw new UsageError('--data is required');
  if (!cfg.out) throw new UsageError('--out is required');
  if ((cfg.model === undefined) === (cfg.init === undefined)) throw new UsageError('give exactly one of --model DIR and --init ARCH');
  if (!SCHEDULES.includes(cfg.schedule)) throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}, got '${cfg.schedule}'`);
  if (!existsSync(cfg.data)) throw new UsageError(`--data ${cfg.data}: no such file or directory`);
  if (!['F32', 'F16', 'BF16'].includes(cfg.saveDtype)) throw new UsageError(`--save-dtype must be F32, F16 or BF16, got '${cfg.saveDtype}'`);
  prepareOutputDir(cfg.out, { ...TRAIN_OUTPUT, overwrite: cfg.overwrite, resume: cfg.resume, inputs: { '--model': cfg.model } });

  // Model and tokenizer.
  let model: CausalLM, modelConfig: Record<string, unknown>, tok: LoadedTokenizer | null, generationConfig: Record<string, unknown> | null = null;
  if (cfg.model) {
    const loaded = loadModel(cfg.model);
    ({ model, config: modelConfig, generationConfig } = loaded);
    tok = cfg.tokenizer ? resolveTokenizer(cfg.tokenizer) : loadTokenizerDir(cfg.model);
  } else {
    tok = resolveTokenizer(cfg.tokenizer ?? 'gpt2');
    ({ model, config: modelConfig } = initModel(cfg, tok));
    generationConfig = { bos_token_id: modelConfig.bos_token_id, eos_token_id: modelConfig.eos_token_id };
  }
  const task = isTaskData(cfg.data, cfg.format);
  if (!tok && (task || !cfg.data.endsWith('.jsonl'))) throw new UsageError(`${cfg.model} has no tokenizer files: give --tokenizer (or pre-tokenized {"input_ids"} data)`);
  const method = cfg.method ?? (task ? 'lora' : 'full');
  if (method !== 'full' && method !== 'lora') throw new UsageError(`--method must be full or lora, got '${method}'`);
  if (method === 'lora' && cfg.init) throw new UsageError('--method lora needs a pretrained --model (from scratch, train every parameter)');
  const lr = cfg.lr ?? (cfg.init ? 6e-4 : method === 'lora' ? 2e-4 : 5e-5);
  const seqLen = cfg.seqLen ?? Math.min(model.maxPositions, 1024);
  if (seqLen > model.maxPositions) throw new UsageError(`--seq-len ${seqLen} is beyond the model's context of ${model.maxPositions} positions`);

  // Data.
  const textTok = tok?.tokenizer ?? { encode: () => [], decode: () => '', vocabSize: model.vocabSize, bosId: null, eosId: null, padId: null };
  let trainSet: SequenceDataset, valSet: SequenceDataset | null;
  let dataSummary: Record<string, unknown>;
  if (task) {
    const maxLength = Math.min(cfg.maxLength ?? seqLen, seqLen);
    const data = loadTaskData(cfg.data, textTok, {
      maxLength, truncation: cfg.truncation, format: cfg.format as never, skipBadRows: cfg.skipBadRows,
      valFraction: cfg.valFraction, valData: cfg.valData,
      chatTemplate: tok?.chatTemplate ? new ChatTemplate(tok.chatTemplate) : undefined,
      addBos: tok?.config.add_bos_token === true,
    });
    ({ train: trainSet, val: valSet } = data);
    dataSummary = { kind: 'task', ...data.summary };
    const s = data.summary;
    console.log(`data: ${s.kept} examples (${s.truncated} truncated, ${s.dropped} dropped${s.skippedRows ? `, ${s.skippedRows} bad rows skipped` : ''}), ${s.train} train / ${s.val} val, ${s.labelTokens} completion tokens`);
  } else {
    const corpus = loadCorpus(cfg.data, textTok, { seqLen, format: cfg.format as never, valFraction: cfg.valFraction, valData: cfg.valData, skipBadRows: cfg.skipBadRows, vocabSize: model.vocabSize, cacheDir: cfg.cacheDir } as never);
    ({ train: trainSet, val: valSet } = corpus);
    dataSummary = { kind: 'corpus', ...corpus.summary };
    const s = corpus.summary;
    console.log(`data: ${s.tokens} tokens in ${s.documents} documents -> ${s.train} train / ${s.val} val sequences of ${seqLen}${s.cacheBuilt ? ' (token cache built)' : ''}`);
  }
  if (trainSet.size === 0) throw new Error(`${cfg.data}: no training sequences (the data is shorter than one sequence of ${seqLen} tokens?)`);

  // Method.
  if (method === 'lora') {
    const targets = cfg.loraTargets === undefined ? null
      : cfg.loraTargets === ALL_LINEAR || /[\\^$*+?()[\]|]/.test(cfg.loraTargets) ? cfg.loraTargets
        : cfg.loraTargets.split(',').map((s) => s.trim()).filter(Boolean);
    const summary = applyLora(model, { r: cfg.loraR, lora_alpha: cfg.loraAlpha, lora_dropout: cfg.loraDropout, target_modules: targets, use_rslora: cfg.useRslora, base_model_name_or_path: cfg.model ?? null }, { seed: cfg.seed });
    console.log(`lora: r ${cfg.loraR}, alpha ${cfg.loraAlpha} on ${summary.adapted.length} modules; ${summary.trainableParams.toLocaleString()} trainable of ${summary.totalParams.toLocaleString()} parameters`);
  }

  const padId = tok ? defaultPadId(tok.tokenizer) : 0;
  const batches = new Batches(trainSet, { batchSize: cfg.batchSize, seqLen, padId, shuffle: true, seed: cfg.seed, packing: cfg.packing });
  const stepsPerEpoch = Math.max(1, Math.ceil(batches.batchesPerEpoch / cfg.gradAccum));
  const maxSteps = cfg.maxSteps ?? Math.max(1, Math.round(cfg.epochs * stepsPerEpoch));
  const resolved = { ...cfg, method, lr, seqLen, maxSteps, backend: backend().name };
  if (verbose) console.log('config: ' + JSON.stringify(resolved));
  console.log(`train: ${maxSteps} steps (${stepsPerEpoch} per epoch) of ${cfg.batchSize}x${cfg.gradAccum} sequences, lr ${lr}, ${method} fine-tuning on the ${backend().name} backend`);

  const extraFiles: Record<string, string> = { ...(tok?.files ?? {}) };
  if (generationConfig) extraFiles['generation_config.json'] = JSON.stringify(generationConfig, null, 2) + '\n';
  const weightHooks: Pick<TrainHooks, 'saveWeights' | 'loadWeights'> = method === 'full'
    ? fullFineTuneHooks(model, extraFiles)
    : { saveWeights: (dir) => saveAdapter(model, dir), loadWeights: (dir) => loadAdapterWeights(model, dir) };
  const summary = await train(model, batches, {
    out: cfg.out, maxSteps, gradAccum: cfg.gradAccum, lr, weightDecay: cfg.weightDecay, betas: [0.9, 0.999], eps: 1e-8,
    warmupSteps: cfg.warmupSteps, schedule: cfg.schedule, maxGradNorm: cfg.maxGradNorm, evalEvery: cfg.evalEvery,
    saveEvery: cfg.saveEvery, logEvery: cfg.logEvery, seed: cfg.seed, resume: cfg.resume, overwrite: cfg.overwrite,
    keepCheckpoints: cfg.keepCheckpoints, progress: cfg.progress, config: resolved,
  }, {
    ...weightHooks,
    evalBatches: valSet && valSet.size > 0 ? () => evalBatches(valSet!, { batchSize: cfg.batchSize, seqLen, padId, packing: cfg.packing }) : undefined,
  });

  // The run's result in --out: an HF model dir (full) or a PEFT adapter dir (LoRA), plus the record.
  writeRunResult(cfg.out, summary, { config: resolved, data: dataSummary }, (dir) => {
    if (method === 'full') saveFullWeights(dir, model, extraFiles, cfg.saveDtype);
    else {
      saveAdapter(model, dir);
      for (const [name, content] of Object.entries(tok?.files ?? {})) writeFileSync(join(dir, name), content);
    }
  });
  const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(4));
  console.log(`${summary.interrupted ? runStatus(summary) : 'done'}: ${summary.steps} steps, ${summary.tokens.toLocaleString()} tokens in ${summary.elapsedS.toFixed(1)}s; ` +
    `final loss ${fmt(summary.finalLoss)}, eval loss ${fmt(summary.finalEvalLoss)} (best ${fmt(summary.bestEvalLoss)}${summary.bestStep !== null ? ` at step ${summary.bestStep}` : ''})` +
    `${summary.perplexity !== null ? `, perplexity ${summary.perplexity.toFixed(2)}` : ''}`);
  if (summary.interrupted) {
    console.log(`no final ${method === 'full' ? 'model' : 'adapter'} written to ${cfg.out}; its checkpoint-${summary.steps} continues with --resume`);
    process.exitCode = runExitCode(summary);
  } else console.log(`saved ${method === 'full' ? 'the model' : 'the LoRA adapter'} to ${cfg.out} (loss chart: ${join(cfg.out, 'loss_chart.svg')})`);
}
