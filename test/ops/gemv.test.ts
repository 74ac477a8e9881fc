// gemm with one row (decode): the unpacked path, threaded over N, against the reference.
import { test } from 'node:test';
import { gemm as refGemm } from '../../src/backend/reference/gemm.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

test('native gemm with M = 1: every ISA, both B layouts, accumulate or not, shapes that use both threads', () => {
  requireNative();
  const r = rng(5);
  for (const v of nativeVariants()) {
    v.activate();
    for (const [n, k] of [[1, 1], [17, 3], [3000, 777], [50257 >> 4, 768], [129, 4100]]) {
      for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
        const a = r.f32(k), b = r.f32(n * k), c0 = r.f32(n);
        const want = Float32Array.from(c0), got = Float32Array.from(c0);
        refGemm(want, a, b, 1, n, k, transA, transB, acc);
        v.backend.gemm(got, a, b, 1, n, k, transA, transB, acc);
        expectClose(`${v.name} gemv n${n} k${k} tA${transA} tB${transB} acc${acc}`, got, want, { atol: 1e-4 * Math.sqrt(k), rtol: 1e-4 });
      }
    }
  }
});
