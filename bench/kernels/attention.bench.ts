// Fused causal attention, forward and forward+backward, at GPT-2 small's shape (T=1024, H=12, D=64),
// side by side with PyTorch 1.13 on CPU doing what a model of that era does (bench/peers/attention_torch.py).
//
// GFLOP/s counts the useful causal FLOPs only, the same count for both sides:
//   forward  = 2 matmuls (QK^T, PV) x 2 flops x B*H*D x T*T/2   = 2*B*H*T*T*D
//   backward = 5 matmuls (S, dP, dV, dK, dQ)                     = 2.5 x forward
//   fwd+bwd  = 3.5 x forward
// so the ratio of GFLOP/s is the ratio of times. (Torch computes the full T*T square and masks it.)
// The '1thr' rows compare one thread each by least CPU time, which other processes on the machine
// disturb much less than the wall time of the 2-thread rows.
import type { BenchContext, BenchRow } from '../harness.js';
import { runPeer, timeit, uniformFill } from '../harness.js';
import { loadAddon, type NativeAddon } from '../../src/backend/native/binding.js';
import { attentionBackward as refBackward, attentionForward as refForward } from '../../src/backend/reference/attention.js';

/** threads 1: one thread, least process CPU time (robust on a shared machine); else all threads, wall time. */
interface Case { B: number; T: number; H: number; D: number; threads?: 1 }

/** Least process CPU time of one call, in seconds. */
function minCpuSeconds(fn: () => void, reps: number): number {
  fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1e6);
  }
  return best;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i]));
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/** Checks native against the reference on a small causal GQA case with segments before timing anything. */
function check(addon: NativeAddon): void {
  const B = 2, T = 77, H = 4, KVH = 2, D = 64, scale = 0.125;
  const q = uniformFill(B * T * H * D, 1), k = uniformFill(B * T * KVH * D, 2), v = uniformFill(B * T * KVH * D, 3), dout = uniformFill(B * T * H * D, 4);
  const seg = Int32Array.from({ length: B * T }, (_, i) => Math.floor((i % T) / 30));
  const want = { out: new Float32Array(q.length), lse: new Float32Array(B * H * T), dq: new Float32Array(q.length), dk: new Float32Array(k.length), dv: new Float32Array(v.length) };
  const got = { out: new Float32Array(q.length), lse: new Float32Array(B * H * T), dq: new Float32Array(q.length), dk: new Float32Array(k.length), dv: new Float32Array(v.length) };
  refForward(want.out, want.lse, q, k, v, B, T, H, KVH, D, scale, true, seg, 0);
  refBackward(want.dq, want.dk, want.dv, dout, q, k, v, want.out, want.lse, B, T, H, KVH, D, scale, true, seg, 0);
  addon.attentionForward(got.out, got.lse, q, k, v, B, T, H, KVH, D, scale, true, seg, 0);
  addon.attentionBackward(got.dq, got.dk, got.dv, dout, q, k, v, got.out, got.lse, B, T, H, KVH, D, scale, true, seg, 0);
  for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
    const d = maxRelDiff(got[key], want[key]);
    if (!(d <= 1e-4)) throw new Error(`attention bench: native ${key} disagrees with the reference (max rel diff ${d})`);
  }
}

export function run(ctx: BenchContext): BenchRow[] {
  const { addon, error } = loadAddon();
  if (!addon) {
    ctx.notice(`attention: skipped, ${error}`);
    return [];
  }
  check(addon);
  const list: Case[] = [{ B: 1, T: 1024, H: 12, D: 64 }, { B: 4, T: 1024, H: 12, D: 64 }, { B: 1, T: 1024, H: 12, D: 64, threads: 1 }];
  const peer = runPeer(ctx, 'attention_torch.py', { cases: list, quick: ctx.quick });
  const opts = ctx.quick ? { warmup: 1, minIters: 1, minSeconds: 0.1 } : { warmup: 2, minIters: 5, minSeconds: 2 };
  const rows: BenchRow[] = [];
  for (const [i, c] of list.entries()) {
    const { B, T, H, D } = c, scale = 1 / Math.sqrt(D);
    const q = uniformFill(B * T * H * D, 5), k = uniformFill(B * T * H * D, 6), v = uniformFill(B * T * H * D, 7), w = uniformFill(B * T * H * D, 8);
    const out = new Float32Array(q.length), lse = new Float32Array(B * H * T);
    const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
    const fwd = () => addon.attentionForward(out, lse, q, k, v, B, T, H, H, D, scale, true, null, 0);
    // The peer zeroes its grads and runs backward on sum(out * w), whose dout is w.
    const fwdbwd = () => {
      fwd();
      dq.fill(0); dk.fill(0); dv.fill(0);
      addon.attentionBackward(dq, dk, dv, w, q, k, v, out, lse, B, T, H, H, D, scale, true, null, 0);
    };
    const threads = addon.threads();
    if (c.threads === 1) addon.setThreads(1);
    const time = (fn: () => void) => c.threads === 1 ? minCpuSeconds(fn, ctx.quick ? 2 : 5) : timeit(fn, opts);
    const tf = time(fwd), tfb = time(fwdbwd);
    addon.setThreads(threads);
    const flopsF = 2 * B * H * T * T * D, flopsFB = 3.5 * flopsF;
    const p = peer ? peer.cases[i] as { fwd_ms: number; fwdbwd_ms: number } : null;
    const name = `B=${B} T=${T} H=${H} D=${D}${c.threads === 1 ? ' 1thr' : ''}`;
    const how = c.threads === 1 ? '1 thread, CPU time' : `${threads} threads, wall`;
    const ms = (gptune: number, peerMs: number | undefined) => `causal, ${how}; ${(gptune * 1e3).toFixed(1)} ms vs ${peerMs === undefined ? '-' : peerMs.toFixed(1)} ms`;
    rows.push({ bench: 'attention', case: `${name} fwd`, unit: 'GFLOP/s', gptune: flopsF / tf / 1e9,
      peer: p ? flopsF / (p.fwd_ms / 1e3) / 1e9 : null, peerName: 'torch-cpu', peerConfig: peer?.config, note: ms(tf, p?.fwd_ms) });
    rows.push({ bench: 'attention', case: `${name} fwd+bwd`, unit: 'GFLOP/s', gptune: flopsFB / tfb / 1e9,
      peer: p ? flopsFB / (p.fwdbwd_ms / 1e3) / 1e9 : null, peerName: 'torch-cpu', peerConfig: peer?.config, note: ms(tfb, p?.fwdbwd_ms) });
  }
  if (peer) ctx.notice(`attention: peer ${JSON.stringify(peer.info)}; gptune isa ${addon.isa()}`);
  return rows;
}
