// gemm with B in NF4 (bitsandbytes' NormalFloat4 with double quantization): equal bit for bit to gemm on
// the dequantized f32 B, on the reference backend (the spec) and on every native ISA, through the packed
// path (depth blocks that cut a 64-value block), the fused GEMV (M = 1, rows of whole blocks), the GEMV
// over rows that split blocks (NF4's blocks run over the flattened matrix) and N = 1; transposed too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm, gemmBf16 as refGemmBf16 } from '../../src/backend/reference/gemm.js';
import type { QuantWeight } from '../../src/backend/backend.js';
import { dequantizeNf4, quantizeNf4 } from '../../src/formats/nf4.js';
import { rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { checkStoredGemm, sameBits } from '../helpers/stored_gemm.js';

// [m, n, k] with n*k whole 64-value blocks; rows of 96 or 176 values split blocks.
const SHAPES: Array<[number, number, number]> = [[1, 96, 64], [1, 64, 4160], [1, 96, 96], [1, 176, 64], [1, 2048, 64], [7, 1, 64], [5, 32, 96], [64, 200, 96], [130, 96, 320], [3, 64, 4128], [40, 96, 2080]];

test('gemm with an NF4 B equals gemm with B dequantized to f32, bit for bit (reference and every native ISA)', () => {
  requireNative();
  const cases = checkStoredGemm({
    label: 'NF4', seed: 31, shapes: SHAPES, stored: [false, true],
    make: (values, stored) => {
      const q = quantizeNf4(values);
      return { w: { dtype: 'NF4', ...q, transposed: stored }, wide: dequantizeNf4(q, values.length) };
    },
  });
  assert.ok(cases > 100, `${cases} cases`);
});

test('native gemm with an NF4 B names a bad argument; gemmBf16 computes on it as gemm does', () => {
  requireNative();
  const v = nativeVariants().at(-1)!;
  v.activate();
  const q = quantizeNf4(rng(32).f32(64 * 96, 0.5));
  const short: QuantWeight = { dtype: 'NF4', ...q, absmaxCodes: q.absmaxCodes.subarray(0, 10), transposed: false };
  assert.throws(() => v.backend.gemm(new Float32Array(9 * 64), new Float32Array(9 * 96), short, 9, 64, 96, false, true, false), /'absmaxCodes'/);
  const w: QuantWeight = { dtype: 'NF4', ...q, transposed: false };
  assert.throws(() => v.backend.gemm(new Float32Array(64), new Float32Array(64), w, 2, 16, 2, false, false, false), /whole 64-value NF4 blocks/);
  const a = rng(33).f32(9 * 96);
  for (const b of [{ name: 'reference', gemm: refGemm, gemmBf16: refGemmBf16 }, { name: v.name, gemm: v.backend.gemm, gemmBf16: v.backend.gemmBf16 }]) {
    const want = new Float32Array(9 * 64), got = new Float32Array(9 * 64);
    b.gemm(want, a, w, 9, 64, 96, false, true, false);
    b.gemmBf16(got, a, w, 9, 64, 96, false, true, false);
    sameBits(`${b.name} gemmBf16 on NF4`, got, want);
  }
});
