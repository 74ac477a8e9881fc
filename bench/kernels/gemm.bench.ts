// GEMM throughput (GFLOP/s) on GPT-2 small's training shapes and 2048^3, side by side with numpy's
// OpenBLAS sgemm measured in the same run, plus the fraction of this machine's measured FMA peak.
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { BenchContext, BenchRow } from '../harness.js';
import { runPeer, timeit, uniformFill } from '../harness.js';
import { loadAddon, type NativeAddon } from '../../src/backend/native/binding.js';
import { gemm as refGemm } from '../../src/backend/reference/gemm.js';


interface Case { m: number; n: number; k: number; transA: boolean; transB: boolean }

// GPT-2 small, 1024 tokens per step: attention qkv (2304), projections (768), MLP (3072 and back), LM head.
// NT and TN are the backward's dX = dY @ W^T-style and dW = X^T @ dY products.
const SHAPES: [number, number, number][] = [[1024, 768, 768], [1024, 2304, 768], [1024, 3072, 768],
  [1024, 768, 3072], [1024, 50257, 768], [2048, 2048, 2048]];
const TRANSPOSED = new Set(['1024x768x768', '1024x3072x768']);

function cases(): Case[] {
  const out: Case[] = [];
  for (const [m, n, k] of SHAPES) {
    out.push({ m, n, k, transA: false, transB: false });
    if (TRANSPOSED.has(`${m}x${n}x${k}`)) {
      out.push({ m, n, k, transA: false, transB: true });
      out.push({ m, n, k, transA: true, transB: false });
    }
  }
  return out;
}

const label = (c: Case) => `M=${c.m} N=${c.n} K=${c.k} ${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}`;

/**
 * Starts measuring the CPU time that other processes take: all CPUs' busy time (os.cpus) minus this
 * process's and its waited-for children's (the peer), from /proc/self/stat. The returned function gives
 * it as a fraction of the CPUs' capacity since the start; NaN where /proc is missing (not Linux).
 */
function otherLoad(): () => number {
  const busy = () => cpus().reduce((s, c) => s + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);  // ms
  const ours = () => {  // utime + stime + cutime + cstime, fields 14-17, in clock ticks (100 per second)
    const f = readFileSync('/proc/self/stat', 'utf8');
    const v = f.slice(f.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number);
    return (v[0] + v[1] + v[2] + v[3]) * 10;
  };
  if (!existsSync('/proc/self/stat')) return () => NaN;
  const b0 = busy(), o0 = ours(), t0 = performance.now();
  return () => Math.max(0, busy() - b0 - (ours() - o0)) / ((performance.now() - t0) * cpus().length);
}

/** Checks the kernel against the reference on a small awkward shape before timing anything. */
function check(addon: NativeAddon): void {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
    const m = 37, n = 70, k = 53;
    const a = uniformFill(m * k, 1), b = uniformFill(k * n, 2), got = new Float32Array(m * n), want = new Float32Array(m * n);
    addon.gemm(got, a, b, m, n, k, ta, tb, false);
    refGemm(want, a, b, m, n, k, ta, tb, false);
    for (let i = 0; i < m * n; i++) {
      if (!(Math.abs(got[i] - want[i]) <= 1e-4)) throw new Error(`gemm bench: native gemm disagrees with the reference (transA=${ta} transB=${tb}) at ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
}

export function run(ctx: BenchContext): BenchRow[] {
  const { addon, error } = loadAddon();
  if (!addon) {
    ctx.notice(`gemm: skipped, ${error}`);
    return [];
  }
  check(addon);
  const list = ctx.quick ? cases().filter((c) => c.n !== 50257) : cases();
  const rows: BenchRow[] = [];
  let gflops2048 = 0;
  for (const c of list) {
    // numpy and gptune back to back per shape, so both see the same machine (it may be shared).
    const load = otherLoad();
    const peer = runPeer(ctx, 'gemm_numpy.py', { cases: [c], quick: ctx.quick });
    const a = uniformFill(c.m * c.k, 3), b = uniformFill(c.k * c.n, 4), out = new Float32Array(c.m * c.n);
    const secs = timeit(() => addon.gemm(out, a, b, c.m, c.n, c.k, c.transA, c.transB, false),
      ctx.quick ? { warmup: 1, minIters: 1, minSeconds: 0.1 } : { warmup: 2, minIters: 5, minSeconds: 1 });
    const gflops = (2 * c.m * c.n * c.k) / secs / 1e9;
    if (c.m === 2048 && !c.transA && !c.transB) gflops2048 = gflops;
    const busy = load();
    rows.push({ bench: 'gemm', case: label(c), unit: 'GFLOP/s', gptune: gflops, peer: peer ? peer.gflops[0] : null,
      peerName: 'numpy-openblas', peerConfig: peer?.config, note: busy > 0.05 ? `other processes used ${(100 * busy).toFixed(0)}% of the CPUs meanwhile` : undefined });
  }
  // Theoretical peak = cores x FMA units per core x 16 fp32 lanes (zmm) x 2 flops per FMA x GHz; on this
  // 2-core Sapphire Rapids with 2 AVX-512 FMA units that is 128 flops per cycle, so the measured peak
  // also tells the all-core AVX-512 clock (measured / 128 GHz). fmaPeak runs independent FMA chains on every thread.
  const peak = addon.fmaPeak(ctx.quick ? 0.2 : 1.0);
  rows.push({ bench: 'gemm', case: 'M=2048 N=2048 K=2048 NN / FMA peak', unit: 'GFLOP/s', gptune: gflops2048, peer: peak,
    peerName: 'fma-peak', note: `measured fp32 FMA peak ${peak.toFixed(0)} GFLOP/s on ${addon.threads()} threads (isa ${addon.isa()}); ratio = fraction of peak` });
  return rows;
}
