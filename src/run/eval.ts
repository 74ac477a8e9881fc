// `gptune eval`: mean cross-entropy per target token (Hugging Face's shifted convention, -100
// ignored) over a file, batch by batch; with task: also generated answers scored against the data.
// A model with a classification head goes to eval_classification.ts (loss, accuracy, F1, confusion).
import { opt, type OptionValues } from './option.js';
import { baseQuantOption, openModel, requireTokenizer, taskEncoding } from './model.js';
import { ArrayDataset, evalBatches, loadTaskData, defaultPadId, readRows, detectDataKind, type Example, type SequenceDataset } from '../data/index.js';
import { evaluateLoss } from '../train/trainer.js';
import { evaluateTask, type TaskScores } from '../eval/task_eval.js';
import { GptuneError, UsageError } from '../util/errors.js';
import { isTaskHeadModel, runClassificationEval, type ClassificationEvalResult } from './eval_classification.js';

const MAX_DEFAULT_LENGTH = 1024;

export const EVAL_OPTIONS = {
  model: opt.string({ arg: 'dir', required: true, help: 'Hugging Face model directory' }),
  adapter: opt.string({ arg: 'dir', help: 'a LoRA adapter (PEFT format) to apply' }),
  tokenizer: opt.string({ arg: 'name|dir', help: 'tokenizer to use instead of the model directory\'s' }),
  baseQuant: baseQuantOption(),
  data: opt.string({ arg: 'file', required: true, help: 'JSONL rows: {"text"}, {"input_ids"}, or task rows ({"prompt","completion"}, Alpaca, chat); for a classifier labelled rows ({"text","label"}, {"text","text_pair","label"}, {"tokens","tags"}, {"input_ids","label"}, CSV)' }),
  batchSize: opt.int({ min: 1, default: 8, help: 'sequences per batch' }),
  maxLength: opt.int({ min: 2, defaultRule: `the model's context, at most ${MAX_DEFAULT_LENGTH}`, help: 'truncate sequences to n tokens' }),
  task: opt.bool({ default: false, help: 'generate an answer for each prompt and score it against the completion' }),
  maxNewTokens: opt.int({ min: 1, default: 64, help: 'with --task: tokens to generate per answer' }),
  limit: opt.int({ min: 1, help: 'with --task: score only the first n rows' }),
  json: opt.bool({ default: false, help: 'print one JSON object' }),
};
export type EvalRunOptions = OptionValues<typeof EVAL_OPTIONS>;

export interface EvalResult { loss: number; perplexity: number; tokens: number; task?: TaskScores }

/** A model with a classification head is scored by eval_classification.ts; a causal LM here. */
export function runEval(o: EvalRunOptions): EvalResult | ClassificationEvalResult {
  if (isTaskHeadModel(o.model)) {
    const causalOnly = (['task', 'baseQuant', 'limit'] as const).find((k) => o[k] !== undefined && o[k] !== false);
    if (causalOnly) throw new UsageError(`--${causalOnly === 'baseQuant' ? 'base-quant' : causalOnly} is for causal language models; ${o.model} has a classification head`);
    return runClassificationEval(o);
  }
  return runCausalEval(o);
}

function runCausalEval(o: EvalRunOptions): EvalResult {
  const m = openModel(o.model, { adapter: o.adapter, tokenizer: o.tokenizer, keepStoredDtype: true, baseQuant: o.baseQuant });
  const { model, tok } = m;
  const seqLen = Math.min(o.maxLength ?? model.maxPositions, model.maxPositions, MAX_DEFAULT_LENGTH);
  const isTask = detectDataKind(o.data) === 'task';
  if (o.task && !isTask) throw new UsageError('--task needs task rows ({"prompt","completion"}, Alpaca or chat)');
  let dataset: SequenceDataset;
  if (isTask) {
    dataset = loadTaskData(o.data, requireTokenizer(m, 'task rows').tokenizer, { maxLength: seqLen, ...taskEncoding(tok!) }).train;
  } else {
    const rows = readRows(o.data);
    if (rows.length === 0) throw new GptuneError('no rows', { file: o.data });
    const examples: Example[] = rows.map(({ value, line }) => {
      const r = value as { text?: unknown; input_ids?: unknown };
      let ids: number[];
      if (Array.isArray(r.input_ids)) ids = r.input_ids as number[];
      else if (typeof r.text === 'string') ids = requireTokenizer(m, '{"text"} rows ({"input_ids"} rows do not)').tokenizer.encode(r.text);
      else throw new GptuneError('a row needs "text", "input_ids", or task fields', { file: o.data, line });
      for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= model.vocabSize) throw new GptuneError(`token id ${id} is outside the vocabulary (0..${model.vocabSize - 1})`, { file: o.data, line });
      const cut = Int32Array.from(ids.slice(0, seqLen));
      return { inputIds: cut, labels: cut };
    });
    dataset = new ArrayDataset(examples);
  }
  const padId = tok ? defaultPadId(tok.tokenizer) : 0;
  const { loss, tokens } = evaluateLoss(model, evalBatches(dataset, { batchSize: o.batchSize, seqLen, padId }));
  const out: EvalResult = { loss, perplexity: Math.exp(loss), tokens };
  if (o.task) out.task = evaluateTask(model, tok!, o.data, { maxNewTokens: o.maxNewTokens, limit: o.limit, eosIds: m.eosIds });
  return out;
}
