// Fused attention: the reference against a naive full-matrix softmax and against finite differences,
// then every native ISA variant against the reference (forward, backward, += semantics, masks, GQA).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { F32, I32 } from '../../src/backend/backend.js';
import { attentionBackward, attentionForward } from '../../src/backend/reference/attention.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { loadAddon } from '../../src/backend/native/binding.js';

interface Shape { B: number; T: number; H: number; KVH: number; D: number; causal: boolean; segments: I32 | null; window?: number }

const label = (s: Shape) => `B=${s.B} T=${s.T} H=${s.H}/${s.KVH} D=${s.D} ${s.causal ? 'causal' : 'full'}${s.segments ? ' segments' : ''}${s.window ? ` window ${s.window}` : ''}`;

/** Sorted runs of varying length per batch row (0,0,0,1,1,2,2,2,...), as sequence packing makes them. */
function runSegments(B: number, T: number, seed: number): I32 {
  const r = rng(seed), seg = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let id = 0, left = 1 + Math.floor(r.uniform() * 40);
    for (let t = 0; t < T; t++) {
      if (left-- === 0) { id++; left = Math.floor(r.uniform() * 40); }
      seg[b * T + t] = id;
    }
  }
  return seg;
}

// ---- the reference against the definition ----

/** softmax(Q K^T * scale + mask) V for one (b, h), the whole [T,T] matrix at once, in float64. */
function naiveAttention(s: Shape, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, scale: number): Float64Array {
  const { B, T, H, KVH, D } = s, out = new Float64Array(B * T * H * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const kh = Math.floor(h / (H / KVH));
    const S: number[][] = [];  // (T, T)
    for (let t = 0; t < T; t++) {
      S.push([]);
      for (let u = 0; u < T; u++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[((b * T + t) * H + h) * D + d] * k[((b * T + u) * KVH + kh) * D + d];
        const masked = (s.causal && u > t) || (s.segments !== null && s.segments[b * T + u] !== s.segments[b * T + t]) || (!!s.window && t - u >= s.window);
        S[t].push(masked ? -Infinity : dot * scale);
      }
      const max = Math.max(...S[t]);
      const e = S[t].map((x) => Math.exp(x - max)), sum = e.reduce((a, x) => a + x, 0);
      for (let u = 0; u < T; u++) S[t][u] = e[u] / sum;
    }
    for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let u = 0; u < T; u++) acc += S[t][u] * v[((b * T + u) * KVH + kh) * D + d];
      out[((b * T + t) * H + h) * D + d] = acc;
    }
  }
  return out;
}

test('reference attention equals softmax(QK^T*scale + mask)V computed as a full matrix', () => {
  const r = rng(1);
  for (const [causal, seg, window] of [[true, false, 0], [false, false, 0], [true, true, 0], [false, true, 0], [true, false, 3], [true, true, 2]] as const) {
    const s: Shape = { B: 2, T: 9, H: 4, KVH: 2, D: 5, causal, window, segments: seg ? Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 1, 1, 1, 1, 1, 3, 3]) : null };
    const q = r.f32(s.B * s.T * s.H * s.D), k = r.f32(s.B * s.T * s.KVH * s.D), v = r.f32(s.B * s.T * s.KVH * s.D);
    const out = new Float32Array(q.length), lse = new Float32Array(s.B * s.H * s.T);
    attentionForward(out, lse, q, k, v, s.B, s.T, s.H, s.KVH, s.D, 0.37, s.causal, s.segments, s.window ?? 0);
    expectClose(`naive ${label(s)}`, out, naiveAttention(s, q, k, v, 0.37), { atol: 1e-6, rtol: 1e-5 });
  }
});

test('reference attention backward matches central finite differences of sum(out * w)', () => {
  // Float64Arrays stand in for Float32Arrays: the reference is plain JS arithmetic, so the check runs
  // in double precision and can be tight.
  const f64 = (a: Float64Array) => a as unknown as F32;
  const r = rng(2);
  for (const s of [
    { B: 2, T: 6, H: 4, KVH: 2, D: 3, causal: true, segments: Int32Array.from([0, 0, 1, 1, 1, 2, 5, 5, 5, 5, 6, 6]) },
    { B: 1, T: 5, H: 2, KVH: 2, D: 4, causal: false, segments: null },
    { B: 1, T: 7, H: 2, KVH: 1, D: 3, causal: true, segments: null, window: 3 },
    { B: 1, T: 7, H: 3, KVH: 1, D: 2, causal: false, segments: Int32Array.from([0, 1, 0, 1, 1, 0, 2]) },
  ] as Shape[]) {
    const { B, T, H, KVH, D } = s, nq = B * T * H * D, nkv = B * T * KVH * D, scale = 0.6;
    const rand = (n: number) => Float64Array.from(r.f32(n));
    const q = rand(nq), k = rand(nkv), v = rand(nkv), w = rand(nq);
    const loss = () => {
      const out = new Float64Array(nq), lse = new Float64Array(B * H * T);
      attentionForward(f64(out), f64(lse), f64(q), f64(k), f64(v), B, T, H, KVH, D, scale, s.causal, s.segments, s.window ?? 0);
      let l = 0;
      for (let i = 0; i < nq; i++) l += out[i] * w[i];
      return { l, out, lse };
    };
    const { out, lse } = loss();
    const dq = new Float64Array(nq), dk = new Float64Array(nkv), dv = new Float64Array(nkv);
    attentionBackward(f64(dq), f64(dk), f64(dv), f64(w), f64(q), f64(k), f64(v), f64(out), f64(lse),
      B, T, H, KVH, D, scale, s.causal, s.segments, s.window ?? 0);
    const eps = 1e-5;
    for (const [name, x, g] of [['dq', q, dq], ['dk', k, dk], ['dv', v, dv]] as const) {
      const num = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const x0 = x[i];
        x[i] = x0 + eps; const lp = loss().l;
        x[i] = x0 - eps; const lm = loss().l;
        x[i] = x0;
        num[i] = (lp - lm) / (2 * eps);
      }
      expectClose(`${name} finite differences ${label(s)}`, g, num, { atol: 1e-7, rtol: 1e-6 });
    }
  }
});

// ---- native against the reference ----

function randomCase(s: Shape, seed: number) {
  const r = rng(seed), nq = s.B * s.T * s.H * s.D, nkv = s.B * s.T * s.KVH * s.D;
  return {
    q: r.f32(nq), k: r.f32(nkv), v: r.f32(nkv), dout: r.f32(nq),
    // gradients start non-zero: backward must add to them
    dq0: r.f32(nq, 0.5), dk0: r.f32(nkv, 0.5), dv0: r.f32(nkv, 0.5),
  };
}

function shapes(): Shape[] {
  const out: Shape[] = [];
  const dims = [1, 7, 16, 64, 80];
  let i = 0;
  for (const T of [1, 7, 33, 129]) for (const [H, KVH] of [[4, 4], [4, 2], [6, 1]]) for (const causal of [true, false]) for (const seg of [false, true]) {
    const B = T >= 129 ? 1 : 2, D = dims[i++ % dims.length];
    out.push({ B, T, H, KVH, D, causal, segments: seg ? runSegments(B, T, i) : null });
  }
  // ids that are not sorted runs (tile min/max skipping must stay exact), and more tiles than threads
  out.push({ B: 1, T: 150, H: 2, KVH: 1, D: 16, causal: true, segments: Int32Array.from({ length: 150 }, (_, t) => (t * 7) % 3) });
  out.push({ B: 2, T: 300, H: 2, KVH: 2, D: 8, causal: true, segments: runSegments(2, 300, 99) });
  // Sliding windows (Mistral, Gemma's local layers): shorter than T, with and without segments.
  out.push({ B: 2, T: 70, H: 4, KVH: 1, D: 8, causal: true, segments: null, window: 16 });
  out.push({ B: 1, T: 129, H: 2, KVH: 2, D: 16, causal: true, segments: runSegments(1, 129, 5), window: 33 });
  // Encoders (BERT): no causal mask; a key-padding mask (real tokens 1, padding 0), and packed rows
  // of real tokens (segments = row ids, lengths off the tile grid) as a padded batch runs.
  out.push({ B: 2, T: 100, H: 2, KVH: 2, D: 64, causal: false, segments: Int32Array.from({ length: 200 }, (_, i) => (i < 100 || i % 100 < 37 ? 1 : 0)) });
  const rows = [70, 128, 5, 64, 33];
  out.push({ B: 1, T: 300, H: 2, KVH: 2, D: 64, causal: false, segments: Int32Array.from(rows.flatMap((n, r) => Array(n).fill(r))) });
  return out;
}

function checkNative(name: string, backend: { attentionForward: typeof attentionForward; attentionBackward: typeof attentionBackward }, s: Shape, seed: number) {
  const { B, T, H, KVH, D, causal, segments } = s, window = s.window ?? 0, scale = 1 / Math.sqrt(D);
  const c = randomCase(s, seed);
  const want = { out: new Float32Array(c.q.length), lse: new Float32Array(B * H * T), dq: c.dq0.slice(), dk: c.dk0.slice(), dv: c.dv0.slice() };
  attentionForward(want.out, want.lse, c.q, c.k, c.v, B, T, H, KVH, D, scale, causal, segments, window);
  attentionBackward(want.dq, want.dk, want.dv, c.dout, c.q, c.k, c.v, want.out, want.lse, B, T, H, KVH, D, scale, causal, segments, window);
  const got = { out: new Float32Array(c.q.length).fill(NaN), lse: new Float32Array(B * H * T).fill(NaN), dq: c.dq0.slice(), dk: c.dk0.slice(), dv: c.dv0.slice() };
  backend.attentionForward(got.out, got.lse, c.q, c.k, c.v, B, T, H, KVH, D, scale, causal, segments, window);
  expectClose(`${name} out ${label(s)}`, got.out, want.out, { atol: 2e-6, rtol: 1e-5 });
  expectClose(`${name} lse ${label(s)}`, got.lse, want.lse, { atol: 2e-6, rtol: 1e-5 });
  // the backward gets the reference's forward results, so it is checked on its own
  backend.attentionBackward(got.dq, got.dk, got.dv, c.dout, c.q, c.k, c.v, want.out, want.lse, B, T, H, KVH, D, scale, causal, segments, window);
  expectClose(`${name} dq ${label(s)}`, got.dq, want.dq, { atol: 2e-5, rtol: 1e-4 });
  expectClose(`${name} dk ${label(s)}`, got.dk, want.dk, { atol: 2e-5, rtol: 1e-4 });
  expectClose(`${name} dv ${label(s)}`, got.dv, want.dv, { atol: 2e-5, rtol: 1e-4 });
}

test('native attention matches the reference on every ISA (forward, backward +=, causal, segments, GQA)', () => {
  requireNative();
  const variants = nativeVariants();
  const list = shapes();
  for (const [i, s] of list.entries()) {
    for (const variant of variants) {
      variant.activate();
      checkNative(variant.name, variant.backend, s, 100 + i);
    }
  }
});

test('native attention splits work the same on any thread count (uneven heads, chunked query tiles)', () => {
  requireNative();
  const { addon } = loadAddon();
  if (!addon) return;
  const before = addon.threads();
  try {
    for (const threads of [1, 3]) {
      addon.setThreads(threads);
      for (const variant of nativeVariants()) {
        variant.activate();
        checkNative(`${variant.name} x${threads}`, variant.backend, { B: 1, T: 200, H: 6, KVH: 2, D: 16, causal: true, segments: null }, 7);
        checkNative(`${variant.name} x${threads}`, variant.backend, { B: 1, T: 70, H: 4, KVH: 1, D: 9, causal: false, segments: runSegments(1, 70, 3) }, 8);
      }
    }
  } finally {
    addon.setThreads(before);
  }
});

test('attention propagates NaN like the reference (a NaN key poisons exactly the queries that see it)', () => {
  const B = 1, T = 70, H = 2, KVH = 1, D = 16, r = rng(5);
  const q = r.f32(B * T * H * D), k = r.f32(B * T * KVH * D), v = r.f32(B * T * KVH * D);
  k[40 * D + 3] = NaN;  // key 40
  const kernels: [string, typeof attentionForward][] = [['reference', attentionForward]];
  for (const v of nativeVariants()) kernels.push([v.name, v.backend.attentionForward]);
  for (const [name, fwd] of kernels) {
    for (const v of nativeVariants()) if (v.name === name) v.activate();
    const out = new Float32Array(q.length), lse = new Float32Array(B * H * T);
    fwd(out, lse, q, k, v, B, T, H, KVH, D, 0.25, true, null, 0);
    for (let t = 0; t < T; t++) {
      assert.equal(Number.isNaN(out[(t * H + 1) * D]), t >= 40, `${name}: out row ${t} NaN iff it sees key 40`);
      assert.equal(Number.isNaN(lse[T + t]), t >= 40, `${name}: lse row ${t} NaN iff it sees key 40`);
    }
  }
});

test('attention rejects heads that are not a multiple of kvHeads, and short buffers', () => {
  const kernels: [string, typeof attentionForward, typeof attentionBackward][] = [['reference', attentionForward, attentionBackward]];
  for (const v of nativeVariants()) kernels.push([v.name, v.backend.attentionForward, v.backend.attentionBackward]);
  const B = 1, T = 4, D = 8, big = () => new Float32Array(B * T * 6 * D);
  for (const [name, fwd, bwd] of kernels) {
    for (const v of nativeVariants()) if (v.name === name) v.activate();
    assert.throws(() => fwd(big(), big(), big(), big(), big(), B, T, 6, 4, D, 1, true, null, 0), /6.*4|4.*6/, `${name}: H=6, KVH=4`);
    assert.throws(() => fwd(big(), big(), big(), big(), big(), B, T, 6, 4, D, 1, true, null, 0), /kvHeads/, `${name}: names kvHeads`);
    assert.throws(() => bwd(big(), big(), big(), big(), big(), big(), big(), big(), big(), B, T, 4, 3, D, 1, true, null, 0), /4.*3|3.*4/, `${name}: bwd H=4, KVH=3`);
    const short = new Float32Array(B * T * 4 * D - 1);
    assert.throws(() => fwd(big(), big(), short, big(), big(), B, T, 4, 2, D, 1, true, null, 0), /'q'/, `${name}: short q`);
    assert.throws(() => bwd(big(), short, big(), big(), big(), big(), big(), big(), big(), B, T, 4, 4, D, 1, true, null, 0), /'dk'/, `${name}: short dk`);
    assert.throws(() => fwd(big(), big(), big(), big(), big(), B, T, 4, 2, D, 1, true, new Int32Array(T - 1), 0), /'segments'/, `${name}: short segments`);
  }
});
