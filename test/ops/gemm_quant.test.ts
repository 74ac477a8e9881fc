// gemm with B kept as ggml Q8_0 / Q4_0 blocks: equal bit for bit to gemm on the dequantized f32 B, on
// the reference backend (the spec) and on every native ISA, through the packed path (depth blocks that
// cut a 32-value block), the GEMV (M = 1, decode) and N = 1; blocks stored transposed (Conv1D) too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm, gemmBf16 as refGemmBf16 } from '../../src/backend/reference/gemm.js';
import type { QuantWeight } from '../../src/backend/backend.js';
import { dequantize, quantize } from '../../src/formats/ggml_quant.js';
import { rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { checkStoredGemm, sameBits } from '../helpers/stored_gemm.js';

// [m, n, k]: the stored rows (k when transposed B, else n) are whole blocks.
const SHAPES: Array<[number, number, number]> = [[1, 96, 64], [1, 64, 4128], [1, 2048, 32], [7, 1, 64], [5, 32, 32], [64, 200, 96], [130, 96, 320], [3, 64, 4128], [64, 608, 160], [40, 96, 2080]];

for (const dtype of ['Q8_0', 'Q4_0'] as const) {
  test(`gemm with a ${dtype} B equals gemm with B dequantized to f32, bit for bit (reference and every native ISA)`, () => {
    requireNative();
    const cases = checkStoredGemm({
      label: dtype, seed: dtype === 'Q8_0' ? 21 : 22, shapes: SHAPES, stored: [false, true],
      fits: (rowLen) => rowLen % 32 === 0, // the blocks run along stored rows
      make: (values, stored) => {
        const blocks = quantize(dtype, values);
        return { w: { dtype, blocks, transposed: stored }, wide: dequantize(dtype, blocks, values.length) };
      },
    });
    assert.ok(cases > 40, `${cases} cases`);
  });
}

test('native gemm with a quantized B names a bad argument', () => {
  requireNative();
  const v = nativeVariants().at(-1)!;
  const w = (bytes: number): QuantWeight => ({ dtype: 'Q8_0', blocks: new Uint8Array(bytes), transposed: false });
  assert.throws(() => v.backend.gemm(new Float32Array(64), new Float32Array(64), w(34), 2, 32, 2, false, false, false), /'b'/);      // 2 rows need 68 bytes
  assert.throws(() => v.backend.gemm(new Float32Array(64), new Float32Array(64), w(68), 2, 16, 4, false, false, false), /whole 32-value blocks/);
});

test('gemmBf16 (--compute-dtype bf16) with a quantized B computes as gemm does: dequantized exactly, f32 sums', () => {
  requireNative();
  const r = rng(23);
  const [m, n, k] = [9, 64, 96];
  const a = r.f32(m * k);
  const w: QuantWeight = { dtype: 'Q4_0', blocks: quantize('Q4_0', r.f32(n * k, 0.5)), transposed: false };
  for (const b of [{ name: 'reference', gemm: refGemm, gemmBf16: refGemmBf16 }, ...nativeVariants().map((v) => { v.activate(); return { name: v.name, gemm: v.backend.gemm, gemmBf16: v.backend.gemmBf16 }; })]) {
    const want = new Float32Array(m * n), got = new Float32Array(m * n);
    b.gemm(want, a, w, m, n, k, false, true, false);
    b.gemmBf16(got, a, w, m, n, k, false, true, false);
    sameBits(`${b.name} gemmBf16 on Q4_0`, got, want);
  }
  nativeVariants().at(-1)?.activate();
});
