// Resident memory over a training run whose batch shapes change every step (packed task data: rows
// padded to the longest, the fused loss over target rows), read from /proc/PID/status while the
// CLI trains. Targets (issue 21): peak at most 700 MB, at most 10% growth from step 60 to the end.
// Also runnable alone: node dist/bench/memory.bench.js [steps] prints RSS per step
// (GPTUNE_MALLOC_DEFAULTS=1 in the environment: glibc's dynamic mmap threshold, as before the fix).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchRow } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RssTrace {
  /** RSS in bytes when each step's metrics line appeared (index = step - 1). */
  rss: number[];
  /** VmHWM at the end: the peak resident set. */
  peak: number;
}

function status(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(/^(\w+):\s+(\d+) kB/m.exec(s.slice(s.indexOf(key + ':')))?.[2] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null; // the process has exited
  }
}

/** Trains the shipped base model with packed LoRA r16 on all linear layers, sampling RSS per step. */
export function traceRss(steps: number, onStep?: (step: number, rss: number) => void, env: NodeJS.ProcessEnv = process.env): Promise<RssTrace> {
  const out = mkdtempSync(join(tmpdir(), 'gptune-rss-'));
  const args = [join(root, 'bin', 'gptune.js'), 'train', '--model', join(root, 'assets', 'base-model'),
    '--data', join(root, 'data', 'support', 'train.jsonl'), '--out', join(out, 'run'), '--packing', '--lora-r', '16',
    '--lora-targets', 'all-linear', '--batch-size', '8', '--seq-len', '256', '--max-steps', String(steps),
    '--save-every', String(steps + 1), '--no-progress'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const metrics = join(out, 'run', 'metrics.jsonl');
  const rss: number[] = [];
  let peak = 0;
  const timer = setInterval(() => {
    const s = status(child.pid!);
    if (!s) return;
    peak = Math.max(peak, s.hwm);
    const done = existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length : 0;
    while (rss.length < done) { rss.push(s.rss); onStep?.(rss.length, s.rss); }
  }, 50);
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      clearInterval(timer);
      rmSync(out, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`gptune train exited ${code}: ${stderr.trim().split('\n').slice(-1)[0]}`));
      else resolve({ rss, peak });
    });
  });
}

const MB = 1024 ** 2;

function rows(t: RssTrace, steps: number, from: number, cfg: string, note: string): BenchRow[] {
  const at = (s: number) => t.rss[Math.min(s, t.rss.length) - 1];
  const growth = (at(steps) - at(from)) / at(from) * 100;
  const marks = [1, 10, 20, 60, 100, 150, 200, 250, 300].filter((s) => s <= t.rss.length).map((s) => `${s}:${(at(s) / MB).toFixed(0)}`);
  return [
    { bench: 'rss', case: `${cfg}: peak`, unit: 'MB', gptune: t.peak / MB, peer: null, peerName: 'none', note: `target <= 700 MB${note}` },
    { bench: 'rss', case: `${cfg}: growth step ${from}->${steps}`, unit: '%', gptune: growth, peer: null, peerName: 'none', note: `target <= 10%; RSS MB by step ${marks.join(' ')}${note}` },
  ];
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const steps = ctx.quick ? 40 : 300;
  const from = ctx.quick ? 10 : 60;
  const cfg = 'packed LoRA r16 all-linear, base-model, 8x256';
  // The same run with glibc's dynamic mmap threshold shows what the addon's mallopt saves.
  const fixed = await traceRss(steps);
  const dynamic = await traceRss(steps, undefined, { ...process.env, GPTUNE_MALLOC_DEFAULTS: '1' });
  return [...rows(fixed, steps, from, cfg, ''), ...rows(dynamic, steps, from, `${cfg}, GPTUNE_MALLOC_DEFAULTS=1`, ' (glibc dynamic mmap threshold, for comparison)')];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const steps = Number(process.argv[2] ?? 300);
  traceRss(steps, (s, rss) => console.log(`step ${s} rss ${(rss / MB).toFixed(1)} MB`))
    .then((t) => console.log(`peak (VmHWM) ${(t.peak / MB).toFixed(1)} MB`))
    .catch((e) => { console.error(e); process.exit(1); });
}
