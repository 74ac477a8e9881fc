// The studio's view of a runs folder: every training run under it (a folder holding metrics.jsonl,
// train_config.json or summary.json, as `gptune train` and `npm start` write them) with its config,
// status and checkpoints, read fresh on each request so new and finished runs show without a restart.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { METRICS_FILE } from '../../train/trainer.js';
import { listCheckpoints, loadState } from '../../train/checkpoint.js';
import { readJsonObject } from '../../util/json_file.js';
import { errorMessage } from '../../util/errors.js';

// 'unfinished' is kept apart from 'stopped': a stopped run saved a checkpoint on its signal and wrote
// its summary; an unfinished one went silent without either (killed, crashed, or a step slower than
// STALE_MS), so its newest checkpoint may be older than its last metrics. 'failed': a run started from
// the page that exited with an error before it wrote a summary (its log says why).
export type RunStatus = 'running' | 'finished' | 'stopped' | 'unfinished' | 'failed';

export interface RunInfo {
  /** The folder's path under the runs folder, with '/' separators ('.' for the runs folder itself). */
  id: string;
  dir: string;
  status: RunStatus;
  /** The resolved config: train_config.json, else the newest checkpoint's copy (a run still training). */
  config: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  checkpoints: Array<{ step: number; name: string }>;
  /** Last change to metrics.jsonl or summary.json (ms since the epoch). */
  updatedMs: number;
  /** Files that could not be read, with why. */
  problems: string[];
  /** Set for a run started from the page: its process and the end of its log. */
  launched?: { pid: number; command: string[]; alive: boolean; exit: { code: number | null; signal: string | null } | null; logTail: string };
}

/** What the studio knows of a run it started (launcher.ts), to merge into the listing. */
export interface LaunchedRun { name: string; dir: string; pid: number; command: string[]; exit: { code: number | null; signal: string | null } | null; logTail: string; startedMs: number; stopRequested: boolean }

/** Exit codes of a run that ended as it should: finished, or stopped by SIGINT/SIGTERM/SIGHUP after saving. */
const CLEAN_EXITS = [0, 130, 143, 129];

/**
 * The listing with the runs the studio started: a live process means running (before its first
 * file too, while the model loads), one that exited with an error and left no summary means failed.
 */
export function mergeLaunched(root: string, runs: RunInfo[], launched: readonly LaunchedRun[]): RunInfo[] {
  const out = [...runs];
  for (const l of launched) {
    let run = out.find((r) => r.dir === l.dir);
    if (!run) {
      run = { ...readRun(root, l.dir), updatedMs: l.startedMs };
      out.unshift(run);
    }
    const alive = l.exit === null;
    run.launched = { pid: l.pid, command: l.command, alive, exit: l.exit, logTail: l.logTail };
    // A run restarted with --resume still has its old summary until it ends again: the process decides.
    if (alive) run.status = 'running';
    else if (l.stopRequested && l.exit!.signal === 'SIGINT' && !run.summary) run.status = 'stopped'; // before training began: nothing to save
    else if (!run.summary || !CLEAN_EXITS.includes(l.exit!.code ?? -1)) run.status = 'failed';
  }
  return out;
}

const RUN_FILES = [METRICS_FILE, 'train_config.json', 'summary.json'];
/** A run with no summary and no metrics line for this long is taken to be dead (killed, crashed), not running. */
export const STALE_MS = 15 * 60_000;
const MAX_DEPTH = 3;

export function isRunDir(dir: string): boolean {
  return RUN_FILES.some((f) => existsSync(join(dir, f)));
}

/** Runs under root (root itself included when it is one), newest first. A missing root lists none. */
export function listRuns(root: string, now = Date.now()): RunInfo[] {
  const dirs: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (isRunDir(dir)) { dirs.push(dir); return; }
    if (depth >= MAX_DEPTH) return;
    let names: string[];
    try { names = readdirSync(dir); } catch { return; }
    for (const name of names.sort()) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const sub = join(dir, name);
      try { if (statSync(sub).isDirectory()) walk(sub, depth + 1); } catch { /* vanished meanwhile */ }
    }
  };
  if (existsSync(root)) walk(root, 0);
  return dirs.map((d) => readRun(root, d, now)).sort((a, b) => b.updatedMs - a.updatedMs || a.id.localeCompare(b.id));
}

export function readRun(root: string, dir: string, now = Date.now()): RunInfo {
  const problems: string[] = [];
  const json = (name: string): Record<string, unknown> | null => {
    const path = join(dir, name);
    if (!existsSync(path)) return null;
    try { return readJsonObject(path); } catch (e) { problems.push(errorMessage(e)); return null; }
  };
  const summary = json('summary.json');
  const checkpoints = listCheckpoints(dir);
  let config = json('train_config.json');
  if (!config && checkpoints.length) {
    try { config = loadState(checkpoints[checkpoints.length - 1].dir).config ?? null; } catch (e) { problems.push(errorMessage(e)); }
  }
  const mtime = (name: string) => { try { return statSync(join(dir, name)).mtimeMs; } catch { return 0; } };
  const updatedMs = Math.max(mtime(METRICS_FILE), mtime('summary.json'), mtime('train_config.json'));
  // summary.json is written last, when the run ends: without it the run is still going (or died).
  const status: RunStatus = summary ? (summary.interrupted ? 'stopped' : 'finished') : now - updatedMs < STALE_MS ? 'running' : 'unfinished';
  const rel = relative(root, dir);
  return {
    id: rel === '' ? '.' : rel.split(sep).join('/'), dir, status, config, summary,
    checkpoints: checkpoints.map((c) => ({ step: c.step, name: `checkpoint-${c.step}` })), updatedMs, problems,
  };
}
