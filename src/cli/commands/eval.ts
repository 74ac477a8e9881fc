// gptune eval: mean cross-entropy per target token (Hugging Face's shifted convention, -100 ignored)
// over a file, batch by batch (the whole file's logits are never held); --task also generates for
// held-out prompts and scores the answers.
import type { Command } from 'commander';
import { num, UsageError } from '../errors.js';
import { loadForInference } from '../load_model.js';
import { ArrayDataset, evalBatches, loadTaskData, defaultPadId, readRows, detectTaskFormat, type Example, type SequenceDataset } from '../../data/index.js';
import { ChatTemplate } from '../../tokenizers/chat_template.js';
import { evaluateLoss } from '../../train/trainer.js';
import { evaluateTask } from '../../eval/task_eval.js';

interface EvalFlags { model: string; adapter?: string; tokenizer?: string; data: string; batchSize: number; maxLength?: number; json?: boolean; task?: boolean; maxNewTokens: number; limit?: number }

export function registerEval(program: Command): void {
  program.command('eval')
    .description('loss and perplexity of a model on a file (--task: also exact match, contains-answer, ROUGE-L of generated answers)')
    .requiredOption('--model <dir>', 'Hugging Face model directory')
    .option('--adapter <dir>', 'a LoRA adapter (PEFT format) to apply')
    .option('--tokenizer <name|dir>', 'tokenizer to use instead of the model directory\'s')
    .requiredOption('--data <file>', 'JSONL rows: {"text"}, {"input_ids"}, or task rows ({"prompt","completion"}, Alpaca, chat)')
    .option('--batch-size <n>', 'sequences per batch', num('--batch-size', { int: true, min: 1 }), 8)
    .option('--max-length <n>', 'truncate sequences to n tokens (default: the model\'s context, at most 1024)', num('--max-length', { int: true, min: 2 }))
    .option('--task', 'generate an answer for each prompt and score it against the completion')
    .option('--max-new-tokens <n>', 'with --task: tokens to generate per answer', num('--max-new-tokens', { int: true, min: 1 }), 64)
    .option('--limit <n>', 'with --task: score only the first n rows', num('--limit', { int: true, min: 1 }))
    .option('--json', 'print one JSON object')
    .action((f: EvalFlags) => runEval(f));
}

function runEval(f: EvalFlags): void {
  const setup = loadForInference(f.model, f.adapter, f.tokenizer);
  const { model, tok } = setup;
  const seqLen = Math.min(f.maxLength ?? model.maxPositions, model.maxPositions, 1024);
  const rows = readRows(f.data);
  if (rows.length === 0) throw new UsageError(`${f.data}: no rows`);
  const first = rows[0].value as Record<string, unknown>;
  let dataset: SequenceDataset;
  let isTask = false;
  try {
    detectTaskFormat(first, f.data, rows[0].line);
    isTask = true;
  } catch { /* text or ids rows */ }
  if (isTask) {
    if (!tok) throw new UsageError(`${f.model} has no tokenizer files: task rows need one (--tokenizer)`);
    dataset = loadTaskData(f.data, tok.tokenizer, { maxLength: seqLen, chatTemplate: tok.chatTemplate ? new ChatTemplate(tok.chatTemplate) : undefined, addBos: tok.config.add_bos_token === true }).train;
  } else {
    const examples: Example[] = rows.map(({ value, line }) => {
      const r = value as { text?: unknown; input_ids?: unknown };
      let ids: number[];
      if (Array.isArray(r.input_ids)) ids = r.input_ids as number[];
      else if (typeof r.text === 'string') {
        if (!tok) throw new UsageError(`${f.model} has no tokenizer files: {"text"} rows need one (--tokenizer), {"input_ids"} rows do not`);
        ids = tok.tokenizer.encode(r.text);
      } else throw new Error(`${f.data}:${line}: a row needs "text", "input_ids", or task fields`);
      for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= model.vocabSize) throw new Error(`${f.data}:${line}: token id ${id} is outside the vocabulary (0..${model.vocabSize - 1})`);
      const cut = Int32Array.from(ids.slice(0, seqLen));
      return { inputIds: cut, labels: cut };
    });
    dataset = new ArrayDataset(examples);
  }
  const padId = tok ? defaultPadId(tok.tokenizer) : 0;
  const { loss, tokens } = evaluateLoss(model, evalBatches(dataset, { batchSize: f.batchSize, seqLen, padId }));
  const out: Record<string, unknown> = { loss, perplexity: Math.exp(loss), tokens };
  if (f.task) {
    if (!isTask || !tok) throw new UsageError('--task needs task rows ({"prompt","completion"}, Alpaca or chat) and a tokenizer');
    out.task = evaluateTask(model, tok, f.data, { maxNewTokens: f.maxNewTokens, limit: f.limit, eosIds: setup.eosIds });
  }
  if (f.json) process.stdout.write(JSON.stringify(out) + '\n');
  else {
    console.log(`loss ${loss.toFixed(4)}  perplexity ${Math.exp(loss).toFixed(3)}  over ${tokens} target tokens`);
    const t = out.task as { exactMatch: number; containsAnswer: number; rougeL: number; n: number; truncated: number } | undefined;
    if (t) console.log(`task: exact match ${(100 * t.exactMatch).toFixed(1)}%  contains answer ${(100 * t.containsAnswer).toFixed(1)}%  ROUGE-L ${t.rougeL.toFixed(3)}  over ${t.n} prompts${t.truncated ? ` (${t.truncated} cut from the left to fit the context)` : ''}`);
  }
}
