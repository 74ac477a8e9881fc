// The one training loop behind every kind of `gptune train` run (causal LM, task heads): the options
// the trainer takes, read from the command's options once, and the compute dtype set around it.
import type { Module } from '../nn/module.js';
import { train, type BatchSource, type TrainHooks, type TrainSummary } from '../train/trainer.js';
import type { Distributed } from '../train/distributed.js';
import { backend } from '../backend/select.js';
import { setComputeDtype, type ComputeDtype } from '../tensor/compute_dtype.js';
import type { TrainRunOptions } from './train_options.js';

export type Log = (line: string) => void;

/** What a prepared run decided that the loop needs. */
export interface LoopPlan {
  lr: number;
  maxSteps: number;
  warmupSteps: number;
  /** Saved as train_config.json and with each checkpoint; computeDtype is recorded into it. */
  resolved: Record<string, unknown>;
  dist: Distributed | null;
}

/** bf16 compute where the CPU has AVX-512 BF16; elsewhere f32, said once (rounding alone would only be slower). */
function trainingComputeDtype(wanted: ComputeDtype, log: Log): ComputeDtype {
  if (wanted === 'bf16' && !backend().bf16Hardware) {
    log('--compute-dtype bf16: this CPU has no AVX-512 BF16 (or the native backend is off); computing in f32');
    return 'f32';
  }
  return wanted;
}

export async function runTrainLoop(o: TrainRunOptions, p: LoopPlan, model: Module, data: BatchSource, hooks: TrainHooks, log: Log): Promise<TrainSummary> {
  const computeDtype = trainingComputeDtype(o.computeDtype, log);
  p.resolved.computeDtype = computeDtype; // the recorded config says what ran
  const previousDtype = setComputeDtype(computeDtype);
  return train(model, data, {
    out: o.out, maxSteps: p.maxSteps, gradAccum: o.gradAccum, lr: p.lr, weightDecay: o.weightDecay, betas: [o.adamBeta1, o.adamBeta2], eps: o.adamEpsilon,
    warmupSteps: p.warmupSteps, schedule: o.schedule, maxGradNorm: o.maxGradNorm, evalEvery: o.evalEvery,
    saveEvery: o.saveEvery, logEvery: o.logEvery, seed: o.seed, resume: o.resume, overwrite: o.overwrite,
    keepCheckpoints: o.keepCheckpoints, progress: o.progress, config: p.resolved, gradientCheckpointing: o.gradientCheckpointing, distributed: p.dist, bucketMb: o.bucketMb,
  }, hooks).finally(() => setComputeDtype(previousDtype));
}
