// LayerNorm forward+backward at GPT-2 small's activation shape, and the fused cross-entropy at GPT-2's
// head, in GB/s side by side with PyTorch (2 threads) measured in the same run. Each kernel is first
// checked against the reference (llm.c dev/cuda's order: validate, then time).
import { layerNormBackward, layerNormForward } from '../../src/backend/reference/layernorm.js';
import { crossEntropyBackward, crossEntropyForward } from '../../src/backend/reference/crossentropy.js';
import { backend } from '../../src/backend/select.js';
import { runPeer, timeit, type BenchContext, type BenchRow } from '../harness.js';

function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const u = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) * scale;
  return a;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function check(name: string, diff: number, tol: number): void {
  if (!(diff <= tol)) throw new Error(`${name}: the backend differs from the reference by ${diff} (> ${tol}); not timing a wrong kernel`);
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const b = backend();
  const timing = ctx.quick ? { warmup: 1, minIters: 2, minSeconds: 0.1 } : { warmup: 3, minIters: 10, minSeconds: 2 };
  const rows: BenchRow[] = [];

  // ---- LayerNorm [N, C] ----
  const N = 4096, C = 768, eps = 1e-5;
  const x = randn(N * C, 1), w = randn(C, 2), bias = randn(C, 3), dout = randn(N * C, 4);   // x, dout: [N, C]
  const out = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
  const dx = new Float32Array(N * C), dw = new Float32Array(C), db = new Float32Array(C);
  {
    const r = 64; // validate on the first rows
    const o = new Float32Array(r * C), m = new Float32Array(r), s = new Float32Array(r);
    layerNormForward(o, m, s, x, w, bias, r, C, eps);
    b.layerNormForward(out, mean, rstd, x, w, bias, N, C, eps);
    check('layernorm forward', maxAbsDiff(out.subarray(0, r * C), o), 1e-4);
    const gx = new Float32Array(r * C), gw = new Float32Array(C), gb = new Float32Array(C);
    layerNormBackward(gx, gw, gb, dout, x, m, s, w, r, C);
    const hx = new Float32Array(r * C), hw = new Float32Array(C), hb = new Float32Array(C);
    b.layerNormBackward(hx, hw, hb, dout, x, m, s, w, r, C);
    check('layernorm backward', Math.max(maxAbsDiff(hx, gx), maxAbsDiff(hw, gw), maxAbsDiff(hb, gb)), 1e-3);
  }
  const lnSeconds = timeit(() => {
    b.layerNormForward(out, mean, rstd, x, w, bias, N, C, eps);
    b.layerNormBackward(dx, dw, db, dout, x, mean, rstd, w, N, C);
  }, timing);
  // bytes moved by forward + backward: forward reads x, weight, bias and writes out, mean, rstd; backward
  // reads dout, x, mean, rstd, weight and reads + writes dx, dweight, dbias: 4 (6 N C + 4 N + 7 C).
  // The same count is used for the peer, so the ratio is the ratio of times.
  const lnBytes = 4 * (6 * N * C + 4 * N + 7 * C);

  // ---- cross-entropy [R, V] ----
  const R = 1024, V = 50257;
  const logits = randn(R * V, 5, 2);                       // [R, V]
  const targets = new Int32Array(R).map((_, i) => (i * 7919) % V);
  const losses = new Float32Array(R), lse = new Float32Array(R), dlosses = new Float32Array(R).fill(1 / R);
  const dlogits = new Float32Array(R * V);                 // [R, V]
  {
    const r = 8;
    const lo = new Float32Array(r), ls = new Float32Array(r);
    crossEntropyForward(lo, ls, logits, targets, r, V);
    b.crossEntropyForward(losses, lse, logits, targets, R, V);
    check('xent forward', maxAbsDiff(losses.subarray(0, r), lo), 1e-4);
    const g = new Float32Array(r * V), h = new Float32Array(r * V);
    crossEntropyBackward(g, dlosses, logits, ls, targets, r, V);
    b.crossEntropyBackward(h, dlosses, logits, ls, targets, r, V);
    check('xent backward', maxAbsDiff(h, g), 1e-6);
  }
  const xentStep = () => {
    b.crossEntropyForward(losses, lse, logits, targets, R, V);
    b.crossEntropyBackward(dlogits, dlosses, logits, lse, targets, R, V);
  };
  const xentSeconds = timeit(xentStep, timing);
  const xentZeroSeconds = timeit(() => { dlogits.fill(0); xentStep(); }, timing);
  // forward reads the logits once; backward reads them again and reads + writes dlogits: 4 (4 R V + 3 R)
  const xentBytes = 4 * (4 * R * V + 3 * R);

  const peer = runPeer(ctx, 'layernorm_torch.py', {
    threads: 2, min_iters: timing.minIters, min_seconds: timing.minSeconds,
    layernorm: { rows: N, cols: C }, xent: { rows: R, vocab: V },
  });
  const gbs = (bytes: number, s: number | undefined | null) => (s ? bytes / s / 1e9 : null);
  const peerName = peer ? `torch-${peer.torch}-${peer.threads}t` : 'torch-cpu';
  rows.push({
    bench: 'layernorm', case: `fwd+bwd N=${N} C=${C}`, unit: 'GB/s', gptune: gbs(lnBytes, lnSeconds)!,
    peer: gbs(lnBytes, peer?.layernorm), peerName, peerConfig: peer?.config,
    note: `${(lnSeconds * 1e3).toFixed(2)} ms vs ${peer ? (peer.layernorm * 1e3).toFixed(2) : '-'} ms`,
  });
  rows.push({
    bench: 'xent', case: `fwd+bwd R=${R} V=${V}`, unit: 'GB/s', gptune: gbs(xentBytes, xentSeconds)!,
    peer: gbs(xentBytes, peer?.xent), peerName, peerConfig: peer?.config,
    note: `${(xentSeconds * 1e3).toFixed(1)} ms vs ${peer ? (peer.xent * 1e3).toFixed(1) : '-'} ms; dlogits accumulates into a preallocated buffer`,
  });
  rows.push({
    bench: 'xent', case: `fwd+bwd+zero dlogits R=${R} V=${V}`, unit: 'GB/s', gptune: gbs(xentBytes, xentZeroSeconds)!,
    peer: gbs(xentBytes, peer?.xent), peerName, peerConfig: peer?.config,
    note: `${(xentZeroSeconds * 1e3).toFixed(1)} ms, including dlogits.fill(0) (torch allocates a fresh gradient)`,
  });
  return rows;
}
