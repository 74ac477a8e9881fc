// gemm with B kept as bf16/f16 bits: equal bit for bit to gemm on the widened f32 B, on the reference
// backend (the spec) and on every native ISA, through the packed path, the GEMV (M = 1) and N = 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm } from '../../src/backend/reference/gemm.js';
import type { HalfWeight } from '../../src/backend/backend.js';
import { bf16ToF32, f16ToF32, f32ToBF16, f32ToF16 } from '../../src/formats/dtype.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

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

const sameBits = (name: string, got: Float32Array, want: Float32Array) => {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const i = g.findIndex((v, j) => v !== w[j]);
  assert.equal(i, -1, `${name}: element ${i} is ${got[i]}, the f32 path gives ${want[i]}`);
};

for (const dtype of ['BF16', 'F16'] as const) {
  test(`gemm with a ${dtype} B equals gemm with B widened to f32, bit for bit (reference and every native ISA)`, () => {
    requireNative();
    const r = rng(dtype === 'BF16' ? 11 : 12);
    const backends = [{ name: 'reference', gemm: refGemm, activate: () => {} }, ...nativeVariants().map((v) => ({ name: v.name, gemm: v.backend.gemm, activate: v.activate }))];
    for (const [m, n, k] of SHAPES) {
      for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
        if (m * n * k > 1e6 && backends.length && (transA || acc)) continue; // keep the reference's triple loop quick
        const a = r.f32(m * k), c0 = r.f32(m * n);
        const { w, wide } = halfOf(r.f32(n * k, 0.5), dtype);
        let first: Float32Array | null = null;
        for (const b of backends) {
          b.activate();
          const want = Float32Array.from(c0), got = Float32Array.from(c0);
          b.gemm(want, a, wide, m, n, k, transA, transB, acc);
          b.gemm(got, a, w, m, n, k, transA, transB, acc);
          const name = `${b.name} ${dtype} m${m} n${n} k${k} tA${transA} tB${transB} acc${acc}`;
          sameBits(name, got, want);
          // Native against the spec: the usual f32 GEMM tolerance (the reference sums in double).
          if (first) expectClose(name + ' vs reference', got, first, { atol: 1e-3 * Math.sqrt(k), rtol: 1e-4 });
          else first = got;
        }
      }
    }
    nativeVariants().at(-1)?.activate();
  });
}

test('native gemm with a 16-bit B names a bad argument', () => {
  requireNative();
  const v = nativeVariants().at(-1)!;
  assert.throws(() => v.backend.gemm(new Float32Array(4), new Float32Array(4), { dtype: 'BF16', bits: new Uint16Array(3) }, 2, 2, 2, false, false, false), /'b'/);
});
