// gemm with B kept as ggml Q8_0 / Q4_0 blocks: equal bit for bit to gemm on the dequantized f32 B, on
// the reference backend (the spec) and on every native ISA, through the packed path (depth blocks that
// cut a 32-value block), the GEMV (M = 1, decode) and N = 1; blocks stored transposed (Conv1D) too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm, gemmBf16 as refGemmBf16 } from '../../src/backend/reference/gemm.js';
import type { QuantWeight } from '../../src/backend/backend.js';
import { dequantize, quantize } from '../../src/formats/ggml_quant.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

// [m, n, k]: the stored rows (k when transposed B, else n) are whole blocks.
const SHAPES: Array<[number, number, number]> = [[1, 96, 64], [1, 64, 4128], [1, 2048, 32], [7, 1, 64], [5, 32, 32], [64, 200, 96], [130, 96, 320], [3, 64, 4128], [64, 608, 160], [40, 96, 2080]];

const sameBits = (name: string, got: Float32Array, want: Float32Array) => {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const i = g.findIndex((v, j) => v !== w[j]);
  assert.equal(i, -1, `${name}: element ${i} is ${got[i]}, the f32 path gives ${want[i]}`);
};

for (const dtype of ['Q8_0', 'Q4_0'] as const) {
  test(`gemm with a ${dtype} B equals gemm with B dequantized to f32, bit for bit (reference and every native ISA)`, () => {
    requireNative();
    const r = rng(dtype === 'Q8_0' ? 21 : 22);
    const backends = [{ name: 'reference', gemm: refGemm, activate: () => {} }, ...nativeVariants().map((v) => ({ name: v.name, gemm: v.backend.gemm, activate: v.activate }))];
    let cases = 0;
    for (const [m, n, k] of SHAPES) {
      for (const transB of [false, true]) for (const stored of [false, true]) for (const transA of [false, true]) for (const acc of [false, true]) {
        // The blocks run along stored rows: op(B)'s K when B is [N,K] (transB xor stored transposed), else N.
        const rowLen = transB !== stored ? k : n;
        if (rowLen % 32 !== 0) continue;
        if (m * n * k > 1e6 && (transA || acc)) continue; // keep the reference's triple loop quick
        const a = r.f32(m * k), c0 = r.f32(m * n);
        const blocks = quantize(dtype, r.f32(n * k, 0.5));
        const w: QuantWeight = { dtype, blocks, transposed: stored };
        const wide = dequantize(dtype, blocks, n * k); // B as stored: [N,K] when transB xor stored
        const tb = transB !== stored;
        let first: Float32Array | null = null;
        for (const b of backends) {
          b.activate();
          const want = Float32Array.from(c0), got = Float32Array.from(c0);
          b.gemm(want, a, wide, m, n, k, transA, tb, acc);
          b.gemm(got, a, w, m, n, k, transA, transB, acc);
          const name = `${b.name} ${dtype} m${m} n${n} k${k} tA${transA} tB${transB} stored-transposed ${stored} acc${acc}`;
          sameBits(name, got, want);
          if (first) expectClose(name + ' vs reference', got, first, { atol: 1e-3 * Math.sqrt(k), rtol: 1e-4 });
          else first = got;
        }
        cases++;
      }
    }
    assert.ok(cases > 40, `${cases} cases`);
    nativeVariants().at(-1)?.activate();
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
