// GEMM: the reference against hand-worked cases, then every native ISA variant against the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm } from '../../src/backend/reference/gemm.js';
import { expectClose, rng } from '../helpers/close.js';

/** Stores x [rows, cols] transposed, as [cols, rows]. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
  return t;
}

const COMBOS = [[false, false], [false, true], [true, false], [true, true]] as const;

test('reference gemm: a 2x3 @ 3x2 worked by hand, in all four transpose layouts', () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);        // [2,3]
  const b = new Float32Array([7, 8, 9, 10, 11, 12]);     // [3,2]
  const want = [58, 64, 139, 154];                       // [2,2]
  for (const [ta, tb] of COMBOS) {
    const c = new Float32Array(4);
    refGemm(c, ta ? transpose(a, 2, 3) : a, tb ? transpose(b, 3, 2) : b, 2, 2, 3, ta, tb, false);
    assert.deepEqual(Array.from(c), want, `transA=${ta} transB=${tb}`);
  }
});

test('reference gemm: accumulate adds to C, overwrite ignores it', () => {
  const a = new Float32Array([1, 2]), b = new Float32Array([3, 4]); // [1,2] @ [2,1]
  const c = new Float32Array([100]);
  refGemm(c, a, b, 1, 1, 2, false, false, true);
  assert.equal(c[0], 111);
  refGemm(c, a, b, 1, 1, 2, false, false, false);
  assert.equal(c[0], 11);
});

test('reference gemm: k=0 gives zeros (or leaves C when accumulating); m or n of 0 touches nothing', () => {
  const c = new Float32Array([5, 6, 7, 8]);
  refGemm(c, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, true);
  assert.deepEqual(Array.from(c), [5, 6, 7, 8]);
  refGemm(c, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, false);
  assert.deepEqual(Array.from(c), [0, 0, 0, 0]);
  const d = new Float32Array([9]);
  refGemm(d, new Float32Array(3), new Float32Array(0), 0, 1, 3, false, false, false);
  refGemm(d, new Float32Array(0), new Float32Array(3), 1, 0, 3, false, false, false);
  assert.deepEqual(Array.from(d), [9]);
});

test('reference gemm: outer product (k=1) and dot product (m=n=1)', () => {
  const r = rng(1);
  const x = r.f32(7), y = r.f32(5);
  const outer = new Float32Array(35);
  refGemm(outer, x, y, 7, 5, 1, false, false, false);
  expectClose('outer', outer, Array.from({ length: 35 }, (_, i) => Math.fround(x[Math.floor(i / 5)] * y[i % 5])), { atol: 0, rtol: 0 });
  const dot = new Float32Array(1);
  refGemm(dot, x, x, 1, 1, 7, false, false, false);
  let s = 0;
  for (let i = 0; i < 7; i++) s += x[i] * x[i];
  expectClose('dot', dot, [s], { atol: 0, rtol: 1e-7 });
});
