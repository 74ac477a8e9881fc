// The training loop, generic over model and data (mlx-lm's train()): gradient accumulation that
// equals the big batch, AdamW with warmup + schedule, clipping, periodic eval and checkpoints,
// exact resume, and Ctrl-C / SIGTERM / SIGHUP that finish the step and save a checkpoint before exiting.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM } from '../models/causal_lm.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad, withGradReadyHook } from '../tensor/tape.js';
import { causalLMModelLoss } from './losses.js';
import { AdamW } from './optim/adamw.js';
import { clipGradNorm } from './optim/clip.js';
import { decayGroups } from './param_groups.js';
import { lrMultiplier, type ScheduleName } from './schedule.js';
import { listCheckpoints, loadOptimizer, loadState, removeStaleTemps, saveOptimizer, saveState, writeDirAtomic, type TrainerState } from './checkpoint.js';
import { writeFileAtomicSync } from '../util/fs_atomic.js';
import { GptuneError } from '../util/errors.js';
import { nonFiniteError } from '../models/finite.js';
import { lossChartSvg } from './chart.js';
import { Progress } from './progress.js';
import { allreduceNumbers, type Distributed } from './distributed.js';
import { GradBuckets, type ReduceStats } from './grad_buckets.js';

/** One micro-batch, as src/data produces it (labels aligned with inputs; -100 = no loss). */
export interface TrainBatch {
  inputIds: Int32Array;
  labels: Int32Array;
  batch: number;
  seqLen: number;
  positions: Int32Array | null;
  segments: Int32Array | null;
  targetTokens: number;
  /** An MPI rank's shard: the global batch row its first row is (dropout masks follow global rows). */
  firstRow?: number;
  /** Task-head batches (src/data/classification.ts): [B*T] 1 = token, 0 = padding. */
  attentionMask?: Int32Array | null;
  /** [B*T] BERT segment A/B ids. */
  tokenTypeIds?: Int32Array | null;
  /** Multi-label 0/1 per class or regression targets, where `labels` cannot hold them. */
  floatLabels?: Float32Array | null;
}

/** What a micro-batch's forward gets besides its data (null in evaluation). */
export interface StepForward {
  dropoutSeed: number;
  dropoutRows: { first: number; count: number };
  gradientCheckpointing?: boolean;
}

/**
 * A micro-batch's summed loss over its targets divided by `total` (the targets of the whole step, so
 * accumulation equals one big batch), as a scalar on the tape. `targetTokens` counts the targets:
 * tokens for language modelling, rows for sequence classification.
 */
export type BatchLoss = (b: TrainBatch, forward: StepForward | null, total: number) => Tensor;

/** Causal LM: next-token cross-entropy (HF's shifted convention) over the batch's labels. */
export function causalLMBatchLoss(model: CausalLM): BatchLoss {
  return (b, forward, total) => causalLMModelLoss(model, b.inputIds, b.labels, b.batch, b.seqLen,
    { positions: b.positions ?? undefined, segments: b.segments, ...forward }, total);
}

export interface BatchSource {
  next(): TrainBatch;
  state(): unknown;
  restore(state: unknown): void;
}

export interface TrainOptions {
  out: string;
  /** Optimizer steps in total. */
  maxSteps: number;
  gradAccum: number;
  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  warmupSteps: number;
  schedule: ScheduleName;
  /** Global-norm clipping; 0 disables. */
  maxGradNorm: number;
  /** Evaluate every N steps (0: only at the end). */
  evalEvery: number;
  /** Checkpoint every N steps (0: only at the end and on Ctrl-C). */
  saveEvery: number;
  logEvery: number;
  seed: number;
  /** Recompute each block during backward instead of keeping its activations (less memory, ~1/3 more compute). */
  gradientCheckpointing?: boolean;
  resume: boolean;
  /** Replace an existing run in `out`. */
  overwrite: boolean;
  /** checkpoint-N directories kept (older ones are removed). */
  keepCheckpoints: number;
  /** Show progress (bar or lines). */
  progress: boolean;
  /** The resolved configuration saved with each checkpoint. */
  config: Record<string, unknown>;
  /** An MPI job: `data` yields this rank's shard of each global batch; rank 0 alone writes (distributed.ts). */
  distributed?: Distributed | null;
  /** Under MPI: gradients are summed in buckets of about this many MB, each started as backward finishes it. */
  bucketMb?: number;
}

export interface TrainHooks {
  /** Writes the trainable weights to dir in their loadable form (an HF model dir or a PEFT adapter). */
  saveWeights(dir: string): void;
  /** Restores the trainable weights from a checkpoint dir written by saveWeights. */
  loadWeights(dir: string): void;
  /** A validation set to evaluate: called fresh each time. */
  evalBatches?: () => Iterable<TrainBatch>;
  /** The objective; default causalLMBatchLoss(model) (a model with a task head brings its own). */
  loss?: BatchLoss;
  onStep?(m: StepMetrics): void;
}

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens_per_sec: number;
  elapsed_s: number;
  eval_loss?: number;
  eval_perplexity?: number;
}

export interface TrainSummary {
  steps: number;
  /** The steps asked for: a stopped run has steps < maxSteps. */
  maxSteps: number;
  interrupted: boolean;
  /** The signal that stopped the run (SIGINT, SIGTERM, SIGHUP), or null when it finished. */
  signal: StopSignal | null;
  elapsedS: number;
  tokens: number;
  finalLoss: number | null;
  finalEvalLoss: number | null;
  bestEvalLoss: number | null;
  bestStep: number | null;
  perplexity: number | null;
  outDir: string;
  /** Under MPI: what the gradient allreduce moved and how long this rank waited for it after backward. */
  allreduce: (ReduceStats & { buckets: number }) | null;
}

export const METRICS_FILE = 'metrics.jsonl';

/** Signals that stop a run cleanly (finish the step, save a checkpoint), with the exit codes shells use. */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/** Mean loss per target token over a validation set (token-weighted, like one big batch). */
export function evaluateLoss(model: Module, batches: Iterable<TrainBatch>, batchLoss: BatchLoss = causalLMBatchLoss(model as CausalLM)): { loss: number; tokens: number } {
  const wasTraining = model.training;
  model.eval();
  let sum = 0, tokens = 0;
  try {
    for (const b of batches) {
      if (b.targetTokens === 0) continue;
      sum += noGrad(() => batchLoss(b, null, 1).item());
      tokens += b.targetTokens;
    }
  } finally {
    model.train(wasTraining);
  }
  if (tokens > 0 && !Number.isFinite(sum)) throw nonFiniteError(model, 'losses');
  return { loss: tokens ? sum / tokens : NaN, tokens };
}

function dropoutSeed(seed: number, step: number, micro: number): number {
  let h = (seed ^ Math.imul(step + 1, 0x9e3779b1) ^ Math.imul(micro + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

export async function train(model: Module, data: BatchSource, opts: TrainOptions, hooks: TrainHooks): Promise<TrainSummary> {
  const batchLoss = hooks.loss ?? causalLMBatchLoss(model as CausalLM);
  const out = opts.out;
  const dist = opts.distributed ?? null;
  const isRoot = dist === null || dist.isRoot;
  const previous = listCheckpoints(out);
  const hasRun = existsSync(join(out, METRICS_FILE)) || previous.length > 0;
  if (hasRun && !opts.resume && !opts.overwrite) {
    throw new Error(`${out} holds another run (metrics.jsonl or checkpoints): pass --resume to continue it or --overwrite to replace it`);
  }
  if (isRoot) {
    if (opts.overwrite && !opts.resume && existsSync(out)) {
      for (const name of readdirSync(out)) if (/^checkpoint-\d+$|^best$|^metrics\.jsonl$/.test(name)) rmSync(join(out, name), { recursive: true, force: true });
    }
    mkdirSync(out, { recursive: true });
    for (const stale of removeStaleTemps(out)) process.stderr.write(`gptune: removed ${stale}, left by a run that was killed while saving\n`);
  }

  const named = model.namedParameters().filter(([, p]) => p.requiresGrad);
  const params = named.map(([, p]) => p);
  if (params.length === 0) throw new Error('train: the model has no trainable parameters');
  const opt = new AdamW(decayGroups(model, opts.weightDecay), { lr: opts.lr, betas: opts.betas, eps: opts.eps });
  const buckets = dist ? new GradBuckets(dist, params, opts.bucketMb) : null;

  let state: TrainerState = { step: 0, data: null, bestEvalLoss: null, bestStep: null, tokens: 0, elapsedS: 0, config: opts.config };
  if (opts.resume && previous.length) {
    // The newest checkpoint that loads; an unreadable one (torn by a crash) falls back to the one before.
    for (let i = previous.length - 1; i >= 0; i--) {
      const ckpt = previous[i];
      try {
        state = loadState(ckpt.dir);
        const ranks = (state.config as { ranks?: number }).ranks ?? 1;
        if (ranks !== (dist?.size ?? 1)) throw new Error(`${ckpt.dir} was written by a run on ${ranks} MPI rank(s); resume it with mpirun -np ${ranks} (now ${dist?.size ?? 1})`);
        hooks.loadWeights(ckpt.dir);
        loadOptimizer(ckpt.dir, opt, named);
        data.restore(state.data);
        break;
      } catch (e) {
        if (i === 0) throw e;
        process.stderr.write(`gptune: warning: ${ckpt.dir} cannot be loaded (${(e as Error).message.split('\n')[0]}); falling back to ${previous[i - 1].dir}\n`);
      }
    }
    if (isRoot) truncateMetrics(join(out, METRICS_FILE), state.step);
    if (isRoot) process.stderr.write(`resumed from checkpoint-${state.step} in ${out} (step ${state.step} of ${opts.maxSteps})\n`);
  } else if (opts.resume) {
    throw new Error(`${out}: --resume given, but there is no checkpoint to resume from`);
  }

  const progress = new Progress(opts.maxSteps, opts.progress && isRoot);
  let interrupted = false, stopSignal: StopSignal | null = null;
  const onSignal = (sig: StopSignal) => {
    if (interrupted) process.exit(STOP_SIGNALS[sig]); // a second signal stops at once
    interrupted = true;
    stopSignal = sig;
    progress.notice(`${sig}: stopping after this step and saving a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to quit without saving)`);
  };
  const handlers = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((sig) => [sig, () => onSignal(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);

  const saveCheckpoint = () => {
    if (!isRoot) return;
    const dir = join(out, `checkpoint-${state.step}`);
    writeDirAtomic(dir, (tmp) => {
      hooks.saveWeights(tmp);
      saveOptimizer(tmp, opt, named);
      saveState(tmp, { ...state, data: data.state() });
    });
    for (const old of listCheckpoints(out).slice(0, -Math.max(1, opts.keepCheckpoints))) rmSync(old.dir, { recursive: true, force: true });
  };
  const runEval = (): { loss: number; perplexity: number } | null => {
    if (!hooks.evalBatches || !isRoot) return null;
    const { loss } = evaluateLoss(model, hooks.evalBatches(), batchLoss);
    if (state.bestEvalLoss === null || loss < state.bestEvalLoss) {
      state.bestEvalLoss = loss;
      state.bestStep = state.step;
      writeDirAtomic(join(out, 'best'), (tmp) => hooks.saveWeights(tmp));
    }
    return { loss, perplexity: Math.exp(loss) };
  };

  model.train();
  progress.start(state.step);
  let lastLoss: number | null = null, lastEval: number | null = null;
  let windowStart = performance.now(), windowTokens = 0;
  const runStart = performance.now() - state.elapsedS * 1000;
  try {
    while (state.step < opts.maxSteps && !interrupted) {
      const lr = opts.lr * lrMultiplier(opts.schedule, state.step, opts.warmupSteps, opts.maxSteps);
      const micro: TrainBatch[] = [];
      for (let i = 0; i < opts.gradAccum; i++) micro.push(data.next());
      // Divide by the target tokens of all micro-batches: accumulation then equals one big batch.
      let total = micro.reduce((s, b) => s + b.targetTokens, 0);
      if (dist) [total] = allreduceNumbers(dist, [total]);
      let loss = 0, stepTokens = 0;
      micro.forEach((b, i) => {
        stepTokens += b.batch * b.seqLen;
        if (b.batch === 0) return; // this rank's share of a short last batch
        const forward: StepForward = { dropoutSeed: dropoutSeed(opts.seed, state.step, i),
          dropoutRows: { first: b.firstRow ?? 0, count: b.batch }, gradientCheckpointing: opts.gradientCheckpointing };
        const l = batchLoss(b, forward, total);
        loss += l.item();
        // Only the last micro-batch's backward finishes gradients: its buckets start their allreduce on the way.
        if (buckets && i === micro.length - 1) withGradReadyHook(buckets, () => l.backward());
        else l.backward();
      });
      if (buckets) {
        // Gradients, loss, tokens and any rank's stop request summed: every rank steps alike.
        let stop: number;
        [loss, stepTokens, stop] = buckets.finish([loss, stepTokens, interrupted ? 1 : 0]);
        if (stop > 0) interrupted = true;
      }
      windowTokens += stepTokens;
      state.tokens += stepTokens;
      if (!Number.isFinite(loss)) {
        throw new Error(`the training loss is ${loss} at step ${state.step + 1}: training diverged. Try a lower learning rate (now ${opts.lr}) or a smaller --max-grad-norm`);
      }
      const gradNorm = opts.maxGradNorm > 0 ? clipGradNorm(params, opts.maxGradNorm) : clipGradNorm(params, Infinity);
      opt.lr = lr;
      opt.stepUpdate();
      opt.zeroGrad();
      state.step++;
      lastLoss = loss;

      const now = performance.now();
      state.elapsedS = (now - runStart) / 1000;
      const m: StepMetrics = { step: state.step, loss, lr, grad_norm: gradNorm, tokens_per_sec: windowTokens / ((now - windowStart) / 1000), elapsed_s: state.elapsedS };
      if (opts.evalEvery > 0 && state.step % opts.evalEvery === 0 && state.step < opts.maxSteps) {
        const ev = runEval();
        if (ev) { m.eval_loss = ev.loss; m.eval_perplexity = ev.perplexity; lastEval = ev.loss; }
      }
      if (isRoot && (state.step % opts.logEvery === 0 || m.eval_loss !== undefined || state.step === opts.maxSteps)) {
        appendFileSync(join(out, METRICS_FILE), JSON.stringify(m) + '\n');
        progress.update({ step: m.step, loss: m.loss, lr: m.lr, tokensPerSec: m.tokens_per_sec, elapsedS: m.elapsed_s, evalLoss: m.eval_loss });
        // On a terminal the bar redraws over its line: each eval result gets a line of its own above it.
        if (m.eval_loss !== undefined) progress.logAboveBar(`eval at step ${m.step}: loss ${m.eval_loss.toFixed(4)}, perplexity ${m.eval_perplexity!.toFixed(2)}`);
        hooks.onStep?.(m);
        windowStart = performance.now();
        windowTokens = 0;
      }
      if (opts.saveEvery > 0 && state.step % opts.saveEvery === 0 && state.step < opts.maxSteps) saveCheckpoint();
      // Yield to the event loop so Ctrl-C (SIGINT) is seen between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    progress.stop();
    if (!interrupted && hooks.evalBatches) {
      const ev = runEval();
      if (ev) {
        lastEval = ev.loss;
        appendFileSync(join(out, METRICS_FILE), JSON.stringify({ step: state.step, eval_loss: ev.loss, eval_perplexity: ev.perplexity, elapsed_s: state.elapsedS }) + '\n');
        progress.log(`eval at step ${state.step}: loss ${ev.loss.toFixed(4)}, perplexity ${ev.perplexity.toFixed(2)}`);
      }
    }
    saveCheckpoint();
    if (interrupted && isRoot) progress.notice(`saved checkpoint-${state.step} (step ${state.step} of ${opts.maxSteps}); continue with --resume`);
  } finally {
    progress.stop();
    for (const [sig, h] of handlers) process.off(sig, h);
  }
  if (isRoot) writeFileAtomicSync(join(out, 'loss_chart.svg'), lossChart(join(out, METRICS_FILE)));
  return {
    steps: state.step, maxSteps: opts.maxSteps, interrupted, signal: stopSignal, elapsedS: state.elapsedS, tokens: state.tokens, finalLoss: lastLoss,
    finalEvalLoss: lastEval, bestEvalLoss: state.bestEvalLoss, bestStep: state.bestStep,
    perplexity: lastEval === null ? null : Math.exp(lastEval), outDir: out,
    allreduce: buckets && { ...buckets.stats, buckets: buckets.buckets.length },
  };
}

/** Drops metrics lines past a resumed step, so the log matches the run that continues. */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const rows = readMetrics(path).filter((r) => r.step <= step);
  writeFileAtomicSync(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** The rows of metrics.jsonl. A torn last line (a crash mid-append) is dropped with a warning; a bad line elsewhere is an error. */
export function readMetrics(path: string): StepMetrics[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const last = lines.reduce((k, l, i) => (l.trim() ? i : k), -1);
  const rows: StepMetrics[] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      rows.push(JSON.parse(l));
    } catch (e) {
      if (i !== last) throw new GptuneError(`malformed metrics line (${(e as Error).message})`, { file: path, line: i + 1 });
      process.stderr.write(`gptune: warning: ${path}:${i + 1}: dropped a torn last line (the run was cut off while writing it)\n`);
    }
  });
  return rows;
}

function lossChart(metricsPath: string): string {
  const rows = readMetrics(metricsPath);
  return lossChartSvg([
    { name: 'train loss', color: '#1f77b4', points: rows.filter((r) => r.loss !== undefined).map((r) => [r.step, r.loss]) },
    { name: 'eval loss', color: '#d62728', points: rows.filter((r) => r.eval_loss !== undefined).map((r) => [r.step, r.eval_loss!]) },
  ], 'gptune training loss');
}
