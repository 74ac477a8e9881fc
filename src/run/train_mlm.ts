// `gptune train` for an encoder on raw text: masked-LM training (continued pre-training of a BERT /
// RoBERTa / DistilBERT checkpoint, or --init bert|roberta from scratch), run_mlm.py's objective with
// DataCollatorForLanguageModeling's masks (src/data/mlm.ts), saved as an HF *ForMaskedLM dir or a PEFT adapter.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTaskModel, writeTaskModelFiles } from '../models/load_task.js';
import { loadWeightsInto } from '../models/load.js';
import { isEncoderType, taskArchitectureFor, taskOfArchitectures } from '../models/registry.js';
import type { TaskModel } from '../models/task_model.js';
import { readModelConfig } from '../formats/hf_config.js';
import { loadTokenizerDir, resolveTokenizer, type LoadedTokenizer } from '../tokenizers/load.js';
import { maskedLMTokens, withRobertaSpecials, wordBoundaries, type MaskedLMTokens } from '../tokenizers/mlm_tokens.js';
import { Batches, detectCorpusFormat, listSources, loadCorpus, type CorpusFormat, type SequenceDataset, type TextTokenizer } from '../data/index.js';
import { detectClassificationData } from '../data/detect.js';
import { FramedDataset, MaskedLMBatches, maskedEvalBatches, type MaskingOptions } from '../data/mlm.js';
import { applyLora, saveAdapter, loraCheckpointHooks } from '../lora/index.js';
import { train, type BatchLoss, type TrainHooks, type TrainSummary } from '../train/trainer.js';
import { writeRunResult } from '../train/run_output.js';
import { crossEntropy } from '../tensor/ops/loss.js';
import { backend } from '../backend/select.js';
import { prepareOutputDir } from '../util/output_dir.js';
import { TRAIN_OUTPUT } from '../formats/output_files.js';
import { GptuneError, UsageError } from '../util/errors.js';
import { setComputeDtype } from '../tensor/compute_dtype.js';
import { DEFAULT_LR, INIT_SEQ_LEN, MAX_DEFAULT_SEQ_LEN, loraTargets, type TrainRunOptions } from './train_options.js';
import { runTrainLoop, type Log } from './train_loop.js';

export interface PreparedMaskedLM {
  kind: 'masked_lm';
  model: TaskModel;
  tok: LoadedTokenizer;
  tokens: MaskedLMTokens;
  masking: MaskingOptions;
  method: 'full' | 'lora';
  lr: number;
  seqLen: number;
  maxSteps: number;
  warmupSteps: number;
  batches: MaskedLMBatches;
  valSet: SequenceDataset | null;
  /** The tokenizer's files, saved beside the model (RoBERTa's specials included when they were added). */
  tokenizerFiles: Record<string, string>;
  dataSummary: Record<string, unknown>;
  resolved: Record<string, unknown>;
  dist: null;
}

/**
 * Masked-LM when asked (--task mlm, --init bert|roberta), or for an encoder checkpoint (a bare encoder or
 * a *ForMaskedLM) given raw text; labelled rows on such a checkpoint train a classifier instead.
 */
export function isMaskedLMRun(o: TrainRunOptions): boolean {
  if (o.task === 'seq-cls' || o.task === 'token-cls') return false;
  if (o.task === 'mlm' || o.init === 'bert' || o.init === 'roberta') return true;
  if (!o.model || !existsSync(join(o.model, 'config.json'))) return false;
  const config = readModelConfig(join(o.model, 'config.json')).raw;
  const task = taskOfArchitectures(config);
  if (!isEncoderType(config.model_type) || (task !== null && task !== 'masked_lm')) return false;
  return detectClassificationData(listSources(o.data)[0]) === null;
}

export function prepareMaskedLM(o: TrainRunOptions, log: Log = () => {}): PreparedMaskedLM {
  if ((o.model === undefined) === (o.init === undefined)) throw new UsageError('give exactly one of --model DIR and --init ARCH');
  if (o.distributed) throw new UsageError('masked-LM training does not run under MPI yet (--distributed)');
  if (o.packing) throw new UsageError('masked-LM training takes no --packing (corpus blocks are already full rows)');
  if (o.init && o.init !== 'bert' && o.init !== 'roberta') throw new UsageError(`--task mlm trains an encoder: --init bert or roberta, not ${o.init}`);
  prepareOutputDir(o.out, { ...TRAIN_OUTPUT, overwrite: o.overwrite, resume: o.resume, inputs: { '--model': o.model } });
  const method = o.method ?? 'full';
  if (method === 'lora' && o.init) throw new UsageError('--method lora needs a pretrained --model (from scratch, train every parameter)');
  if (o.baseQuant) throw new UsageError('--base-quant is for decoders; an encoder trains in f32');

  let model: TaskModel, tok: LoadedTokenizer;
  if (o.model) {
    const found = o.tokenizer ? resolveTokenizer(o.tokenizer) : loadTokenizerDir(o.model);
    if (!found) throw new UsageError(`${o.model} has no tokenizer files: give --tokenizer`);
    tok = found;
    model = loadTaskModel(o.model, { task: 'masked_lm', seed: o.seed }).model;
    if (model.task !== 'masked_lm') throw new UsageError(`${o.model}: not a masked LM`);
  } else {
    if (!o.tokenizer) throw new UsageError(`--init ${o.init} needs --tokenizer (a WordPiece vocab or a byte-level BPE tokenizer dir)`);
    tok = resolveTokenizer(o.tokenizer);
    const roberta = withRobertaSpecials(tok, o.tokenizer);
    if (roberta) {
      tok = roberta.tokenizer;
      log(`tokenizer: ${o.tokenizer} has no mask token: added RoBERTa's special tokens ${roberta.added.join(' ')} (<s> <pad> </s> first, <mask> last; other ids shift up) and the "<s> A </s>" template; the new tokenizer files are saved with the model`);
    }
    model = initEncoder(o, tok);
  }
  const tokens = maskedLMTokens(tok, o.tokenizer ?? o.model!);
  if (tok.tokenizer.vocabSize > model.numLabels) {
    throw new GptuneError(`the tokenizer has ${tok.tokenizer.vocabSize} ids, the model's vocab_size is ${model.numLabels}`, { file: o.tokenizer ?? o.model });
  }
  const masking: MaskingOptions = {
    maskId: tokens.maskId, vocabSize: tok.tokenizer.vocabSize, special: tokens.special, probability: o.mlmProbability,
    wholeWord: o.wholeWordMask ? wordBoundaries(tok.tokenizer) : null,
  };

  const lr = o.lr ?? DEFAULT_LR[o.init ? 'init' : method];
  const seqLen = o.seqLen ?? Math.min(model.maxPositions, o.init ? INIT_SEQ_LEN : MAX_DEFAULT_SEQ_LEN);
  if (seqLen > model.maxPositions) throw new UsageError(`--seq-len ${seqLen} is beyond the model's ${model.maxPositions} positions`);

  // Text: blocks of seqLen minus the frame, each framed as one text; documents end with the closing token.
  // {"input_ids"} rows are taken as they are.
  const format = o.format === 'auto' ? detectCorpusFormat(listSources(o.data)[0]) : o.format as CorpusFormat;
  if (!['text', 'jsonl-text', 'jsonl-ids'].includes(format)) throw new UsageError(`--format ${format}: masked-LM training reads raw text (text, jsonl-text) or jsonl-ids`);
  const framed = format !== 'jsonl-ids';
  const frame = framed ? tokens.prefix.length + tokens.suffix.length : 0;
  if (seqLen - frame < 2) throw new UsageError(`--seq-len ${seqLen} leaves no room inside the ${frame} special tokens`);
  const corpus = loadCorpus(o.data, streamTokenizer(tok, tokens), {
    seqLen: seqLen - frame, format: format as CorpusFormat, valFraction: o.valFraction, valData: o.valData, skipBadRows: o.skipBadRows, cacheDir: o.cacheDir,
  });
  const frameOf = (d: SequenceDataset) => (framed ? new FramedDataset(d, tokens.prefix, tokens.suffix) : d);
  const trainSet = frameOf(corpus.train);
  const valSet = corpus.val && frameOf(corpus.val);
  const s = corpus.summary;
  log(`data: ${s.tokens} tokens in ${s.documents} documents -> ${s.train} train / ${s.val} val sequences of ${seqLen}${framed ? ' (framed by the tokenizer\'s special tokens)' : ''}${s.cacheBuilt ? ' (token cache built)' : ''}`);
  if (trainSet.size === 0) throw new GptuneError(`no training sequences (the data is shorter than one sequence of ${seqLen} tokens?)`, { file: o.data });

  if (method === 'lora') {
    const loraAlpha = o.loraAlpha ?? 2 * o.loraR;
    // PEFT has no masked-LM task type: task_type null (a plain PeftModel), the MLM head stays frozen.
    const summary = applyLora(model, { task_type: null, r: o.loraR, lora_alpha: loraAlpha, lora_dropout: o.loraDropout, target_modules: loraTargets(o.loraTargets), use_rslora: o.useRslora, base_model_name_or_path: o.model ?? null }, { seed: o.seed });
    log(`lora: r ${o.loraR}, alpha ${loraAlpha} on ${summary.adapted.length} modules; ${summary.trainableParams.toLocaleString()} trainable of ${summary.totalParams.toLocaleString()} parameters`);
  }
  const batches = new MaskedLMBatches(new Batches(trainSet, { batchSize: o.batchSize, seqLen, padId: tokens.padId, shuffle: true, seed: o.seed }), masking, o.seed);
  const stepsPerEpoch = Math.max(1, Math.ceil(batches.batchesPerEpoch / o.gradAccum));
  const maxSteps = o.maxSteps ?? Math.max(1, Math.round(o.epochs * stepsPerEpoch));
  const warmupSteps = o.warmupSteps ?? Math.round(o.warmupRatio * maxSteps);
  const resolved = { ...o, objective: 'masked_lm', ranks: 1, method, lr, seqLen, maxSteps, warmupSteps, loraAlpha: method === 'lora' ? o.loraAlpha ?? 2 * o.loraR : o.loraAlpha, backend: backend().name };
  log(`train: masked LM (${(o.mlmProbability * 100).toFixed(0)}% of tokens${o.wholeWordMask ? ', whole words' : ''}), ${maxSteps} steps (${stepsPerEpoch} per epoch) of ${o.batchSize}x${o.gradAccum} sequences, lr ${lr}, ${method} ${o.init ? 'training' : 'fine-tuning'} on the ${backend().name} backend`);
  return { kind: 'masked_lm', model, tok, tokens, masking, method, lr, seqLen, maxSteps, warmupSteps, batches, valSet, tokenizerFiles: { ...tok.files }, dataSummary: { kind: 'corpus', objective: 'masked_lm', ...s }, resolved, dist: null };
}

/** The text tokenizer the token cache uses: documents end with the template's closing token ([SEP], </s>). */
function streamTokenizer(t: LoadedTokenizer, tokens: MaskedLMTokens): TextTokenizer {
  const tok = t.tokenizer;
  return {
    encode: (text, opts) => tok.encode(text, opts), decode: (ids) => tok.decode(ids), idToToken: (id) => tok.idToToken(id),
    vocabSize: tok.vocabSize, bosId: tok.bosId, eosId: tokens.separatorId, padId: tok.padId,
    fingerprint: tok.fingerprint === undefined ? undefined : `${tok.fingerprint}:mlm-separator-${tokens.separatorId}`,
  };
}

/**
 * --init bert|roberta: Hugging Face's BertConfig / RobertaConfig defaults at the sizes the options give
 * (intermediate 4x hidden). RoBERTa's positions start after pad_token_id, so its table holds seqLen + pad + 1 rows.
 */
function initEncoder(o: TrainRunOptions, t: LoadedTokenizer): TaskModel {
  const tok = t.tokenizer;
  const positions = o.seqLen ?? INIT_SEQ_LEN;
  const pad = tok.padId ?? 0;
  const roberta = o.init === 'roberta';
  if (o.nEmbd % o.nHead !== 0) throw new UsageError(`--n-embd ${o.nEmbd} is not divisible by --n-head ${o.nHead}`);
  const config: Record<string, unknown> = {
    model_type: o.init, architectures: [roberta ? 'RobertaForMaskedLM' : 'BertForMaskedLM'],
    vocab_size: o.vocabSize ?? tok.vocabSize, hidden_size: o.nEmbd, num_hidden_layers: o.nLayer, num_attention_heads: o.nHead,
    intermediate_size: 4 * o.nEmbd, hidden_act: 'gelu', hidden_dropout_prob: 0.1,
    // gptune's fused attention has no dropout on the attention probabilities.
    attention_probs_dropout_prob: 0.0,
    max_position_embeddings: roberta ? positions + pad + 1 : positions, type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12,
    pad_token_id: pad, position_embedding_type: 'absolute', tie_word_embeddings: true,
    ...(tok.bosId !== null ? { bos_token_id: tok.bosId } : {}), ...(tok.eosId !== null ? { eos_token_id: tok.eosId } : {}),
  };
  const model = taskArchitectureFor(config, '--init').create(config, '--init', 'masked_lm');
  model.initWeights(o.seed);
  return model;
}

/** Masked LM: cross-entropy over the chosen positions, summed and divided by the step's masked tokens. */
export function maskedLMBatchLoss(model: TaskModel): BatchLoss {
  return (b, forward, total) => crossEntropy(model.forward({
    ids: b.inputIds, batch: b.batch, seqLen: b.seqLen, attentionMask: b.attentionMask, tokenTypeIds: b.tokenTypeIds, dropoutSeed: forward?.dropoutSeed,
    gradientCheckpointing: forward?.gradientCheckpointing,
  }), b.labels, { divisor: total });
}

export async function runMaskedLMTraining(o: TrainRunOptions, log: Log = () => {}, p = prepareMaskedLM(o, log)): Promise<{ summary: TrainSummary; prepared: PreparedMaskedLM }> {
  const { model } = p;
  const weightHooks: Pick<TrainHooks, 'saveWeights' | 'loadWeights'> = p.method === 'full'
    ? {
      saveWeights: (dir) => writeTaskModelFiles(dir, model, { extraFiles: p.tokenizerFiles }),
      loadWeights: (dir) => {
        const { missing, path } = loadWeightsInto(model, dir, (k) => k);
        if (missing.length) throw new Error(`${path}: missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
      },
    }
    : loraCheckpointHooks(model);
  const valSet = p.valSet;
  const summary = await runTrainLoop(o, p, model, p.batches, {
    ...weightHooks,
    loss: maskedLMBatchLoss(model),
    evalBatches: valSet && valSet.size > 0 ? () => maskedEvalBatches(valSet, { batchSize: o.batchSize, seqLen: p.seqLen, padId: p.tokens.padId }, p.masking, o.seed) : undefined,
  }, log);
  writeRunResult(o.out, summary, { config: p.resolved, data: p.dataSummary }, (dir) => {
    if (p.method === 'full') writeTaskModelFiles(dir, model, { dtype: o.saveDtype, extraFiles: p.tokenizerFiles });
    else {
      saveAdapter(model, dir);
      for (const [name, content] of Object.entries(p.tokenizerFiles)) writeFileSync(join(dir, name), content);
    }
  });
  return { summary, prepared: p };
}
