// gemm with B kept as bf16/f16 bits: equal bit for bit to gemm on the widened f32 B, on the reference
// backend (the spec) and on every native ISA, through the packed path, the GEMV (M = 1) and N = 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HalfWeight } from '../../src/backend/backend.js';
import { bf16ToF32, f16ToF32, f32ToBF16, f32ToF16 } from '../../src/formats/dtype.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { checkStoredGemm } from '../helpers/stored_gemm.js';

// M = 1 rows: the streaming GEMV's edges (row groups of 4 and the rest; column passes of 256, 128, 64,
// 32, 16 and a masked tail; depth tails under and over 16).
const SHAPES: Array<[number, number, number]> = [[1, 1, 1], [1, 300, 77], [1, 50, 4100], [1, 1011, 59], [1, 7, 1000], [1, 499, 45], [7, 1, 33], [5, 13, 9], [64, 200, 96], [130, 97, 300], [3, 2000, 64], [64, 600, 160]];

function halfOf(x: Float32Array, dtype: HalfWeight['dtype']): { w: HalfWeight; wide: Float32Array } {
  const bits = dtype === 'BF16' ? f32ToBF16(x) : f32ToF16(x);
  // Include edges of each format: a negative zero, the smallest subnormal, a value near f16's largest.
  bits[0] = 0x8000;
  if (bits.length > 2) bits[1] = 0x0001;
  if (bits.length > 3) bits[2] = dtype === 'BF16' ? 0x477f : 0x7bff;
  return { w: { dtype, bits }, wide: dtype === 'BF16' ? bf16ToF32(bits) : f16ToF32(bits) };
}

for (const dtype of ['BF16', 'F16'] as const) {
  test(`gemm with a ${dtype} B equals gemm with B widened to f32, bit for bit (reference and every native ISA)`, () => {
    requireNative();
    const cases = checkStoredGemm({ label: dtype, seed: dtype === 'BF16' ? 11 : 12, shapes: SHAPES, stored: [false], make: (values) => halfOf(values, dtype) });
    assert.ok(cases > 40, `${cases} cases`);
  });
}

test('native gemm with a 16-bit B names a bad argument', () => {
  requireNative();
  const v = nativeVariants().at(-1)!;
  assert.throws(() => v.backend.gemm(new Float32Array(4), new Float32Array(4), { dtype: 'BF16', bits: new Uint16Array(3) }, 2, 2, 2, false, false, false), /'b'/);
});
