// Training checkpoints: trainable weights (via the caller's hook), AdamW moments, and the trainer's
// state (step, data cursor, schedule, best eval), written to a temporary directory then renamed,
// so a crash or a full disk never leaves a half-written checkpoint and the last good one survives.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, type Tensor as FileTensor } from '../formats/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AdamW } from './optim/adamw.js';
import { processAlive } from '../util/process.js';

export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

export interface TrainerState {
  /** Optimizer steps completed. */
  step: number;
  /** The data iterator's cursor. */
  data: unknown;
  bestEvalLoss: number | null;
  bestStep: number | null;
  /** Tokens seen so far and training seconds so far (for throughput and the summary). */
  tokens: number;
  elapsedS: number;
  /** The resolved run configuration, for the record. */
  config: Record<string, unknown>;
}

/** Writes dir atomically: fill a temporary sibling, then rename over. */
export function writeDirAtomic(dir: string, fill: (tmp: string) => void): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

export function saveOptimizer(dir: string, opt: AdamW, named: Array<[string, Tensor]>): void {
  const tensors: Array<[string, FileTensor]> = [];
  for (const [name, p] of named) {
    const s = opt.stateOf(p);
    if (!s) continue;
    tensors.push([`${name}.exp_avg`, { dtype: 'F32', shape: [...p.shape], data: s.m }]);
    tensors.push([`${name}.exp_avg_sq`, { dtype: 'F32', shape: [...p.shape], data: s.v }]);
  }
  saveSafetensors(join(dir, OPTIMIZER_FILE), tensors, { format: 'pt', optimizer_step: String(opt.step) });
}

export function loadOptimizer(dir: string, opt: AdamW, named: Array<[string, Tensor]>): void {
  const path = join(dir, OPTIMIZER_FILE);
  const { metadata, tensors } = loadSafetensors(path);
  opt.step = Number(metadata?.optimizer_step ?? 0);
  for (const [name, p] of named) {
    const m = tensors.get(`${name}.exp_avg`), v = tensors.get(`${name}.exp_avg_sq`);
    if (!m || !v) {
      if (opt.step > 0 && p.requiresGrad) throw new Error(`${path}: no optimizer state for '${name}'`);
      continue;
    }
    if (m.data.length !== p.size) throw new Error(`${path}: optimizer state for '${name}' has ${m.data.length} values, the parameter ${p.size}`);
    opt.setState(p, Float32Array.from(m.data as Float32Array), Float32Array.from(v.data as Float32Array));
  }
}

export function saveState(dir: string, state: TrainerState): void {
  writeFileSync(join(dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

export function loadState(dir: string): TrainerState {
  const path = join(dir, STATE_FILE);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TrainerState;
  } catch (e) {
    throw new Error(`${path}: cannot read the trainer state (${(e as Error).message})`);
  }
}

/** checkpoint-<step> directories of a run, oldest first (only complete ones: they hold the state file). */
export function listCheckpoints(out: string): Array<{ step: number; dir: string }> {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: join(out, m[0]) }))
    .filter((c) => existsSync(join(c.dir, STATE_FILE)))
    .sort((a, b) => a.step - b.step);
}

/**
 * Removes checkpoint-N.tmp-PID / .old-PID folders (and best's) whose process is gone: a kill during
 * a save leaves them, each as large as a checkpoint. Returns the paths removed.
 */
export function removeStaleTemps(out: string): string[] {
  if (!existsSync(out)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(out)) {
    const m = /^(?:checkpoint-\d+|best)\.(?:tmp|old)-(\d+)$/.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    rmSync(join(out, name), { recursive: true, force: true });
    removed.push(join(out, name));
  }
  return removed;
}
