// Shared benchmark plumbing: timing, the Python peers (PyTorch and numpy on CPU), and result rows.
// Speed is always reported as a ratio against a peer measured in the same run, the peer at its best.
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
  /** How the peer ran (library versions, dtype, allocator, threads). */
  peerConfig?: string;
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

/** The Python that runs the peers: a venv with PyTorch 2.13 CPU, transformers and PEFT (see runPeer). */
export const PYTHON = process.env.GPTUNE_BENCH_PYTHON || 'bench/.venv/bin/python3';
const PEER_INSTALL = 'python3 -m venv bench/.venv && bench/.venv/bin/pip install torch==2.13.0+cpu transformers==5.17.0 peft==0.21.0 numpy, or set GPTUNE_BENCH_PYTHON';
const TCMALLOC = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4';

/**
 * How the peers run, as PyTorch's CPU tuning guide sets it up: 2 threads, tcmalloc preloaded (glibc
 * malloc returns each step's activations to the OS and page-faults them back), and OpenBLAS free to
 * pick its own kernels (this image pins OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE; unset for the peer).
 */
export function peerEnv(extra: Record<string, string> = {}): { env: Record<string, string>; config: string } {
  const env: Record<string, string> = { ...process.env as Record<string, string>, OMP_NUM_THREADS: '2', ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const tcmalloc = existsSync(TCMALLOC);
  if (tcmalloc) env.LD_PRELOAD = TCMALLOC + (env.LD_PRELOAD ? ':' + env.LD_PRELOAD : '');
  return { env, config: `${tcmalloc ? 'tcmalloc' : 'glibc malloc (apt-get install libtcmalloc-minimal4)'}, OPENBLAS_CORETYPE/L2_SIZE unset` };
}

/**
 * Runs bench/peers/<script> with PYTHON under peerEnv(). The script prints one JSON object on its
 * last stdout line; its `config` (or `info.config`) field, if any, is joined with the environment's into `config`.
 * Returns null, with a notice, when the Python or its modules are missing or the peer fails.
 */
export function runPeer(ctx: BenchContext, script: string, input: unknown, extraEnv: Record<string, string> = {}): any {
  if (!existsSync(PYTHON)) {
    ctx.notice(`${script}: skipped, no peer Python at ${PYTHON} (${PEER_INSTALL})`);
    return null;
  }
  const path = join('bench', 'peers', script);
  const { env, config } = peerEnv(extraEnv);
  const r = spawnSync(PYTHON, [path], { input: JSON.stringify(input), env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const err = (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
    ctx.notice(`${script}: skipped, the peer failed (${err || 'exit ' + r.status}); peer Python ${PYTHON} (${PEER_INSTALL})`);
    return null;
  }
  const lines = r.stdout.trim().split('\n');
  const out = JSON.parse(lines[lines.length - 1]);
  if (out && typeof out === 'object' && !Array.isArray(out)) out.config = [out.config ?? out.info?.config, config].filter(Boolean).join(', ');
  return out;
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
