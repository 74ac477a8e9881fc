// Cached (decode) attention: native at every ISA against reference, and the reference against
// the full causal attention it must reproduce for the last positions.
import { test } from 'node:test';
import { attentionDecode } from '../../src/backend/reference/attention_decode.js';
import { attentionForward } from '../../src/backend/reference/attention.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

const r = rng(11);

function makeCase(B: number, past: number, Tq: number, maxLen: number, H: number, KVH: number, D: number) {
  const T = past + Tq;
  const q = r.f32(B * Tq * H * D), kc = r.f32(B * maxLen * KVH * D), vc = r.f32(B * maxLen * KVH * D);
  return { B, past, Tq, maxLen, H, KVH, D, T, q, kc, vc };
}

test('reference decode attention equals the last rows of full causal attention', () => {
  const c = makeCase(2, 5, 3, 10, 4, 2, 8);
  // Full attention over the first T cache positions, with the queries placed at the end.
  const qFull = new Float32Array(c.B * c.T * c.H * c.D), k = new Float32Array(c.B * c.T * c.KVH * c.D), v = new Float32Array(k.length);
  for (let b = 0; b < c.B; b++) {
    k.set(c.kc.subarray(b * c.maxLen * c.KVH * c.D, (b * c.maxLen + c.T) * c.KVH * c.D), b * c.T * c.KVH * c.D);
    v.set(c.vc.subarray(b * c.maxLen * c.KVH * c.D, (b * c.maxLen + c.T) * c.KVH * c.D), b * c.T * c.KVH * c.D);
    qFull.set(c.q.subarray(b * c.Tq * c.H * c.D, (b + 1) * c.Tq * c.H * c.D), (b * c.T + c.past) * c.H * c.D);
  }
  const full = new Float32Array(qFull.length), lse = new Float32Array(c.B * c.H * c.T);
  attentionForward(full, lse, qFull, k, v, c.B, c.T, c.H, c.KVH, c.D, 0.3, true, null, 0);
  const out = new Float32Array(c.q.length);
  attentionDecode(out, c.q, c.kc, c.vc, c.B, c.Tq, c.past, c.maxLen, c.H, c.KVH, c.D, 0.3, 0);
  const want = new Float32Array(out.length);
  for (let b = 0; b < c.B; b++) want.set(full.subarray((b * c.T + c.past) * c.H * c.D, (b + 1) * c.T * c.H * c.D), b * c.Tq * c.H * c.D);
  expectClose('decode vs full', out, want, { atol: 1e-5, rtol: 1e-5 });
});

test('native decode attention matches reference at every ISA', () => {
  requireNative();
  for (const variant of nativeVariants()) {
    // The last two are window-sized rings (window 8, 8 slots; window 5, 7 slots for 3 queries).
    for (const [B, past, Tq, maxLen, H, KVH, D, window] of [[1, 0, 1, 4, 2, 2, 7, 0], [1, 130, 1, 200, 12, 12, 64, 0], [2, 9, 3, 16, 6, 2, 17, 0], [1, 33, 1, 40, 9, 3, 64, 0], [1, 37, 1, 8, 4, 1, 16, 8], [2, 20, 3, 7, 2, 2, 9, 5]]) {
      const c = makeCase(B, past, Tq, maxLen, H, KVH, D);
      const want = new Float32Array(c.q.length), got = new Float32Array(c.q.length);
      attentionDecode(want, c.q, c.kc, c.vc, B, Tq, past, maxLen, H, KVH, D, 0.125, window);
      variant.activate();
      variant.backend.attentionDecode(got, c.q, c.kc, c.vc, B, Tq, past, maxLen, H, KVH, D, 0.125, window);
      expectClose(`${variant.name} decode B${B} past${past} Tq${Tq} H${H}/${KVH} D${D} window ${window}`, got, want, { atol: 2e-5, rtol: 1e-4 });
    }
  }
});

test('reference decode through a window-sized ring equals windowed full attention', () => {
  const B = 1, H = 2, KVH = 1, D = 4, T = 11, window = 4, scale = 0.5;
  const q = r.f32(B * T * H * D), k = r.f32(B * T * KVH * D), v = r.f32(B * T * KVH * D);
  const full = new Float32Array(q.length);
  attentionForward(full, new Float32Array(B * H * T), q, k, v, B, T, H, KVH, D, scale, true, null, window);
  const ring = { k: new Float32Array(window * KVH * D), v: new Float32Array(window * KVH * D) };
  const row = KVH * D;
  for (let t = 0; t < T; t++) { // one token at a time, as generation feeds them
    ring.k.set(k.subarray(t * row, (t + 1) * row), (t % window) * row);
    ring.v.set(v.subarray(t * row, (t + 1) * row), (t % window) * row);
    const out = new Float32Array(H * D);
    attentionDecode(out, q.subarray(t * H * D, (t + 1) * H * D), ring.k, ring.v, B, 1, t, window, H, KVH, D, scale, window);
    expectClose(`position ${t}`, out, full.subarray(t * H * D, (t + 1) * H * D), { atol: 1e-6, rtol: 1e-5 });
  }
});
