// gptune start (`npm start`): the main job end to end, offline. Load a pretrained GPT (the small one
// shipped in assets/base-model, or --model DIR), measure it on held-out support-desk questions,
// LoRA fine-tune it on the support data, measure again, and report before/after.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { num, UsageError } from '../errors.js';
import { loadModel } from '../../models/load.js';
import { loadTokenizerDir } from '../../tokenizers/load.js';
import { ChatTemplate } from '../../tokenizers/chat_template.js';
import { Batches, evalBatches, loadTaskData, defaultPadId, type SequenceDataset } from '../../data/index.js';
import { applyLora, saveAdapter, loadAdapterWeights } from '../../lora/index.js';
import { evaluateLoss, train } from '../../train/trainer.js';
import { readTaskCases, scoreTask, type TaskScores } from '../../eval/task_eval.js';
import { formatTable } from '../../eval/metrics.js';
import { idList } from '../load_model.js';
import type { CausalLM } from '../../models/causal_lm.js';
import type { LoadedTokenizer } from '../../tokenizers/load.js';
import { backend } from '../../backend/select.js';

/** The package root (assets and the shipped data live there). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

interface StartFlags { model?: string; data?: string; out?: string; steps: number; batchSize: number; lr: number; loraR: number; evalLimit: number; maxNewTokens: number; seed: number }

export function registerStart(program: Command): void {
  program.command('start')
    .description('the demo: LoRA fine-tune a GPT on a support-desk dataset and report before/after (offline, a few minutes)')
    .option('--model <dir>', 'a Hugging Face GPT-2/Llama model directory (default: the small GPT shipped in assets/base-model)')
    .option('--data <dir>', 'a folder with train.jsonl and test.jsonl task rows (default: data/support)')
    .option('--out <dir>', 'run directory (default: runs/start-<timestamp>)')
    .option('--steps <n>', 'LoRA training steps', num('--steps', { int: true, min: 1 }), 400)
    .option('--batch-size <n>', 'examples per step', num('--batch-size', { int: true, min: 1 }), 16)
    .option('--lr <x>', 'learning rate', num('--lr', { min: 0 }), 5e-3)
    .option('--lora-r <n>', 'LoRA rank', num('--lora-r', { int: true, min: 1 }), 32)
    .option('--eval-limit <n>', 'held-out prompts to answer before and after', num('--eval-limit', { int: true, min: 1 }), 120)
    .option('--max-new-tokens <n>', 'tokens per generated answer', num('--max-new-tokens', { int: true, min: 1 }), 32)
    .option('--seed <n>', 'seed', num('--seed', { int: true, min: 0 }), 42)
    .action((f: StartFlags) => runStart(f));
}

interface Measure { loss: number; scores: TaskScores }

function measure(model: CausalLM, tok: LoadedTokenizer, testSet: SequenceDataset, cases: ReturnType<typeof readTaskCases>, padId: number, eosIds: number[], maxNewTokens: number): Measure {
  const { loss } = evaluateLoss(model, evalBatches(testSet, { batchSize: 16, seqLen: Math.min(model.maxPositions, 256), padId }));
  const scores = scoreTask(model, tok, cases, { maxNewTokens, eosIds, samples: 3 });
  return { loss, scores };
}

async function runStart(f: StartFlags): Promise<void> {
  const root = packageRoot();
  const modelDir = f.model ?? join(root, 'assets', 'base-model');
  const dataDir = f.data ?? join(root, 'data', 'support');
  const out = resolve(f.out ?? join('runs', `start-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`));
  for (const file of ['train.jsonl', 'test.jsonl']) if (!existsSync(join(dataDir, file))) throw new UsageError(`${dataDir}: no ${file} (a folder of task rows is expected)`);
  const t0 = performance.now();
  const say = (s: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${s}`);

  say(`loading ${modelDir} (backend: ${backend().name}, ${backend().threads} threads)`);
  const loaded = loadModel(modelDir);
  const model = loaded.model;
  const tok = loadTokenizerDir(modelDir);
  if (!tok) throw new UsageError(`${modelDir} has no tokenizer files (tokenizer.json or vocab.json + merges.txt)`);
  const seqLen = Math.min(model.maxPositions, 256);
  const chatTemplate = tok.chatTemplate ? new ChatTemplate(tok.chatTemplate) : undefined;
  const taskOpts = { maxLength: seqLen, chatTemplate, addBos: tok.config.add_bos_token === true };
  const trainData = loadTaskData(join(dataDir, 'train.jsonl'), tok.tokenizer, taskOpts);
  const testData = loadTaskData(join(dataDir, 'test.jsonl'), tok.tokenizer, taskOpts);
  const cases = readTaskCases(join(dataDir, 'test.jsonl'), tok.chatTemplate).slice(0, f.evalLimit);
  const padId = defaultPadId(tok.tokenizer);
  let eosIds = idList(loaded.generationConfig?.eos_token_id);
  if (!eosIds.length) eosIds = idList(loaded.config.eos_token_id);
  if (!eosIds.length && tok.tokenizer.eosId !== null) eosIds = [tok.tokenizer.eosId];
  say(`data: ${trainData.summary.kept} training examples, ${testData.summary.kept} held-out (${cases.length} answered)`);

  say('measuring the base model on held-out questions ...');
  const before = measure(model, tok, testData.train, cases, padId, eosIds, f.maxNewTokens);
  say(`before: completion loss ${before.loss.toFixed(3)}, exact match ${pct(before.scores.exactMatch)}, contains answer ${pct(before.scores.containsAnswer)}`);

  const lora = applyLora(model, { r: f.loraR, lora_alpha: 2 * f.loraR, lora_dropout: 0.05, target_modules: 'all-linear', base_model_name_or_path: f.model ?? 'assets/base-model' }, { seed: f.seed });
  say(`LoRA r ${f.loraR} on ${lora.adapted.length} modules: ${lora.trainableParams.toLocaleString()} trainable of ${lora.totalParams.toLocaleString()} parameters`);
  mkdirSync(out, { recursive: true });
  const batches = new Batches(trainData.train, { batchSize: f.batchSize, seqLen, padId, shuffle: true, seed: f.seed });
  const summary = await train(model, batches, {
    out, maxSteps: f.steps, gradAccum: 1, lr: f.lr, weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, warmupSteps: Math.round(f.steps * 0.05),
    schedule: 'cosine', maxGradNorm: 1, evalEvery: 0, saveEvery: 0, logEvery: Math.max(1, Math.round(f.steps / 30)), seed: f.seed, resume: false,
    overwrite: true, keepCheckpoints: 1, progress: true, config: { ...f, modelDir, dataDir },
  }, {
    saveWeights: (dir) => saveAdapter(model, dir),
    loadWeights: (dir) => loadAdapterWeights(model, dir),
    evalBatches: () => evalBatches(testData.train, { batchSize: 16, seqLen, padId }),
  });
  saveAdapter(model, join(out, 'adapter'));
  say(`trained ${summary.steps} steps (${summary.tokens.toLocaleString()} tokens) in ${summary.elapsedS.toFixed(0)}s`);

  say('measuring the fine-tuned model ...');
  const after = measure(model, tok, testData.train, cases, padId, eosIds, f.maxNewTokens);
  const table = formatTable([
    { name: 'completion loss (lower is better)', before: before.loss, after: after.loss },
    { name: 'exact match', before: before.scores.exactMatch, after: after.scores.exactMatch },
    { name: 'contains answer', before: before.scores.containsAnswer, after: after.scores.containsAnswer },
    { name: 'ROUGE-L', before: before.scores.rougeL, after: after.scores.rougeL },
  ]);
  const samples = before.scores.samples.map((s, i) => `Q: ${s.prompt.trim()}\n  expected: ${s.reference}\n  before:   ${s.prediction || '(nothing)'}\n  after:    ${after.scores.samples[i]?.prediction || '(nothing)'}`).join('\n\n');
  const report = `gptune start: LoRA fine-tuning on a support desk\n\nmodel: ${modelDir}\ndata: ${dataDir} (${trainData.summary.kept} train, ${cases.length} held-out prompts answered)\n` +
    `training: ${summary.steps} steps, batch ${f.batchSize}, lr ${f.lr}, LoRA r ${f.loraR}; ${summary.elapsedS.toFixed(0)}s on ${backend().name}\n\n${table}\n\n${samples}\n`;
  writeFileSync(join(out, 'report.md'), '```\n' + report + '```\n');
  writeFileSync(join(out, 'report.json'), JSON.stringify({ modelDir, dataDir, steps: summary.steps, before, after, elapsedS: (performance.now() - t0) / 1000 }, null, 2) + '\n');
  console.log('\n' + report);
  say(`saved the adapter to ${join(out, 'adapter')}, the report to ${join(out, 'report.md')} and the loss chart to ${join(out, 'loss_chart.svg')}`);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
