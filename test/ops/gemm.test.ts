// GEMM: the reference against hand-worked cases, then every native ISA variant against the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm as refGemm } from '../../src/backend/reference/gemm.js';
import { expectClose, rng } from '../helpers/close.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { loadAddon } from '../../src/backend/native/binding.js';

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
  refGemm(d, new Float32Array(0), new Float32Array(3), 0, 1, 3, false, false, false); // a [0,3], b [3,1]
  refGemm(d, new Float32Array(3), new Float32Array(0), 1, 0, 3, false, false, false); // a [1,3], b [3,0]
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

// ---- native against reference ----

requireNative();
const variants = nativeVariants();

/** float32 sums of k products of N(0,1) values drift by about eps * k; allow a wide margin over that. */
const tol = (k: number) => ({ atol: 1e-6 * (k + 1), rtol: 1e-5 });

interface Case { m: number; n: number; k: number; ta: boolean; tb: boolean; acc: boolean }

/** Runs one case on every native variant (A, B and the initial C drawn from `seed`) against the reference. */
function checkCase({ m, n, k, ta, tb, acc }: Case, seed: number): void {
  const r = rng(seed);
  const a = r.f32(m * k), b = r.f32(k * n), c0 = r.f32(m * n);
  const want = c0.slice();
  refGemm(want, a, b, m, n, k, ta, tb, acc);
  for (const v of variants) {
    v.activate();
    const got = c0.slice();
    v.backend.gemm(got, a, b, m, n, k, ta, tb, acc);
    expectClose(`${v.name} gemm m=${m} n=${n} k=${k} transA=${ta} transB=${tb} accumulate=${acc}`, got, want, tol(k));
  }
}

test('native gemm has variants to test', () => {
  assert.ok(variants.length > 0 || process.env.GPTUNE_ALLOW_NO_NATIVE === '1', 'no native variants');
});

test('native gemm: odd and edge shapes, all transposes, accumulate or not, on every ISA', () => {
  const sizes = [[1, 1, 1], [1, 7, 17], [7, 1, 33], [17, 33, 1], [14, 32, 16], [15, 33, 17], [13, 31, 15],
    [33, 129, 7], [129, 17, 200], [200, 33, 129], [6, 16, 8], [64, 48, 40], [2, 100, 3],
    [1, 700, 130], [450, 1, 300]];  // the last two are matrix-vector products split over threads
  let seed = 10;
  for (const [m, n, k] of sizes)
    for (const [ta, tb] of COMBOS)
      for (const acc of [false, true]) checkCase({ m, n, k, ta, tb, acc }, seed++);
});

test('native gemm: shapes that cross the blocking sizes, all transposes', () => {
  let seed = 1000;
  // Many row panels and an edge panel, odd widths, K=1100 (one or several depth blocks by thread count).
  for (const [ta, tb] of COMBOS) checkCase({ m: 300, n: 517, k: 1100, ta, tb, acc: ta !== tb }, seed++);
  // Wide C: column blocks as wide as NC, so op(B) blocks are shallow and K=800 takes several depth blocks.
  checkCase({ m: 20, n: 2700, k: 800, ta: false, tb: false, acc: true }, seed++);
  checkCase({ m: 20, n: 2700, k: 800, ta: true, tb: true, acc: false }, seed++);
  // Narrow C with K past the deepest depth block (2048).
  checkCase({ m: 13, n: 100, k: 2100, ta: false, tb: true, acc: true }, seed++);
});

test('native gemm: k=0 zeroes C (or leaves it when accumulating); m or n of 0 writes nothing', () => {
  for (const v of variants) {
    v.activate();
    const c = new Float32Array([1, 2, 3, 4, 5, 6]);
    v.backend.gemm(c, new Float32Array(0), new Float32Array(0), 2, 3, 0, false, false, true);
    assert.deepEqual(Array.from(c), [1, 2, 3, 4, 5, 6], v.name);
    v.backend.gemm(c, new Float32Array(0), new Float32Array(0), 2, 3, 0, true, true, false);
    assert.deepEqual(Array.from(c), [0, 0, 0, 0, 0, 0], v.name);
    const d = new Float32Array([7]);
    v.backend.gemm(d, new Float32Array(0), new Float32Array(5), 0, 1, 5, false, false, false); // a [0,5], b [5,1]
    v.backend.gemm(d, new Float32Array(5), new Float32Array(0), 1, 0, 5, false, false, false); // a [1,5], b [5,0]
    assert.deepEqual(Array.from(d), [7], v.name);
  }
});

test('native gemm: the same answer on 1, 2 and 3 threads (wide and narrow C)', () => {
  const { addon } = loadAddon();
  if (!addon) return;
  const before = addon.threads();
  try {
    for (const threads of [1, 2, 3]) {
      addon.setThreads(threads);
      checkCase({ m: 97, n: 211, k: 150, ta: false, tb: true, acc: true }, 2000 + threads);
      checkCase({ m: 301, n: 20, k: 90, ta: true, tb: false, acc: false }, 2100 + threads);
      // Narrow C with enough work for several threads: they share one packing of op(B) and split M.
      checkCase({ m: 603, n: 70, k: 260, ta: true, tb: true, acc: true }, 2200 + threads);
    }
  } finally {
    addon.setThreads(before);
  }
});

test('native gemm: bad arguments throw an Error that names the argument', () => {
  for (const v of variants) {
    v.activate();
    const g = v.backend.gemm;
    const c = new Float32Array(6), a = new Float32Array(8), b = new Float32Array(12); // m=2 n=3 k=4
    g(c, a, b, 2, 3, 4, false, false, false);
    assert.throws(() => g(new Float32Array(5), a, b, 2, 3, 4, false, false, false), /gemm: argument 'c' has 5 elements, needs at least 6/);
    assert.throws(() => g(c, new Float32Array(7), b, 2, 3, 4, true, false, false), /argument 'a'/);
    assert.throws(() => g(c, a, new Float32Array(11), 2, 3, 4, false, true, false), /argument 'b'/);
    assert.throws(() => g(c, a, b, 2.5, 3, 4, false, false, false), /argument 'm' must be an integer/);
    assert.throws(() => g(c, a, b, 2, -3, 4, false, false, false), /argument 'n' must be >= 0/);
    assert.throws(() => g(c, a, b, 2, 3, 4, 0 as unknown as boolean, false, false), /argument 'transA' must be a boolean/);
    assert.throws(() => g(c, a, b, 2 ** 30, 2 ** 30, 4, false, false, false), /argument 'm\*n' is too large/);
    // C overlapping an input would be read after it is overwritten.
    const buf = new Float32Array(20);
    assert.throws(() => g(buf.subarray(0, 6), buf.subarray(4, 12), b, 2, 3, 4, false, false, false), /argument 'c' overlaps 'a'/);
  }
});
