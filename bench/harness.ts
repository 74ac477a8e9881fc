// Shared benchmark plumbing: timing, the Python peers (PyTorch and numpy on CPU), and result rows.
// Speed is always reported as a ratio against a peer measured in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchRow {
  bench: string;          // e.g. 'gemm'
  case: string;           // e.g. 'M=1024 N=768 K=768'
  unit: string;           // e.g. 'GFLOP/s', 'GB/s', 'tokens/s'
  gptune: number;
  peer: number | null;    // null when the peer could not run (the notice says why)
  peerName: string;       // e.g. 'numpy-openblas', 'torch-cpu'
  note?: string;
}

export interface BenchContext {
  /** Quick mode (BENCH_QUICK=1): fewer repetitions, for checking that a bench runs. */
  quick: boolean;
  notice(msg: string): void;
}

/** Median seconds per call of fn, after warmup, over at least minIters calls and minSeconds. */
export function timeit(fn: () => void, { warmup = 2, minIters = 5, minSeconds = 1 } = {}): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minIters || (performance.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
    if (times.length >= 1000) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export const PYTHON = '/usr/bin/python3';
const OPENBLAS_OPENMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

/**
 * Runs bench/peers/<script> with Debian's python3 (PyTorch/numpy), 2 threads and the OpenMP build of
 * OpenBLAS first on the library path (the fastest CPU setup here). The script prints one JSON value
 * on its last stdout line. Returns null, with a notice, when python3 or its modules are missing.
 */
export function runPeer(ctx: BenchContext, script: string, input: unknown, extraEnv: Record<string, string> = {}): any {
  if (!existsSync(PYTHON)) {
    ctx.notice(`${script}: skipped, ${PYTHON} is missing (apt-get install python3-numpy python3-torch libopenblas0-openmp)`);
    return null;
  }
  const path = join('bench', 'peers', script);
  const env: Record<string, string> = { ...process.env as Record<string, string>, OMP_NUM_THREADS: '2', ...extraEnv };
  if (existsSync(OPENBLAS_OPENMP)) env.LD_LIBRARY_PATH = OPENBLAS_OPENMP + (env.LD_LIBRARY_PATH ? ':' + env.LD_LIBRARY_PATH : '');
  const r = spawnSync(PYTHON, [path], { input: JSON.stringify(input), env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const err = (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
    ctx.notice(`${script}: skipped, the peer failed (${err || 'exit ' + r.status})`);
    return null;
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Uniform values in [-1, 1) from a seeded LCG: fast enough for the 38M-element operands of the benches. */
export function uniformFill(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2147483648 - 1;
  }
  return x;
}
