// Dropout: the native mask must be bit-identical to the reference's (same hash), p = 0 and p = 1,
// kept fraction, accumulation, gradcheck for a fixed mask, and argument errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropoutBackward, dropoutForward } from '../../src/backend/reference/dropout.js';
import { dropoutHash } from '../../src/backend/dropout_hash.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();

function sameBits(name: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) assert.fail(`${name}: element ${i} is ${a[i]}, reference ${b[i]}`);
}

test('native dropout is bit-identical to the reference, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const n of [1, 7, 129, 100003]) {
    const x = rng(n).f32(n), dout = rng(n + 1).f32(n), dx0 = rng(n + 2).f32(n);
    for (const p of [0, 0.1, 0.5, 0.9, 1]) {
      for (const seed of [0, 12345, 0xdeadbeef, -5]) {
        const want = new Float32Array(n);
        dropoutForward(want, x, n, p, seed, 0);
        const wantDx = dx0.slice();
        dropoutBackward(wantDx, dout, n, p, seed, 0);
        const zeroDx = new Float32Array(n);
        dropoutBackward(zeroDx, dout, n, p, seed, 0);
        for (const v of variants) {
          v.activate();
          const tag = `${v.name} n=${n} p=${p} seed=${seed}`;
          const out = new Float32Array(n);
          v.backend.dropoutForward(out, x, n, p, seed, 0);
          sameBits(`forward ${tag}`, out, want);
          const dx = new Float32Array(n); // from zero the backward is a pure product: exact
          v.backend.dropoutBackward(dx, dout, n, p, seed, 0);
          sameBits(`backward ${tag}`, dx, zeroDx);
          const acc = dx0.slice(); // onto a gradient, the compiler may fuse the multiply-add (one rounding)
          v.backend.dropoutBackward(acc, dout, n, p, seed, 0);
          expectClose(`backward accumulate ${tag}`, acc, wantDx, { atol: 2.4e-7, rtol: 1.2e-7 });
        }
      }
    }
  }
});

test('dropout: p = 0 is the identity, p = 1 gives zeros, the kept fraction is 1 - p, kept values scale by 1/(1-p)', () => {
  const n = 200000, x = rng(3).f32(n);
  for (const b of [{ name: 'reference', fwd: dropoutForward }, ...variants.map((v) => ({ name: v.name, fwd: (...a: Parameters<typeof dropoutForward>) => { v.activate(); v.backend.dropoutForward(...a); } }))]) {
    const out = new Float32Array(n);
    b.fwd(out, x, n, 0, 7, 0);
    sameBits(`${b.name} p=0`, out, x);
    b.fwd(out, x, n, 1, 7, 0);
    assert.ok(out.every((v) => v === 0), `${b.name} p=1`);
    b.fwd(out, x, n, 0.25, 7, 0);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (out[i] !== 0) { kept++; assert.equal(out[i], Math.fround(x[i] * Math.fround(1 / 0.75))); }
      assert.equal(out[i] !== 0, dropoutHash(7, i) >= 0.25 * 2 ** 32, `${b.name} mask at ${i}`);
    }
    assert.ok(Math.abs(kept / n - 0.75) < 0.01, `${b.name} kept fraction ${kept / n}`);
  }
});

test('an offset draws the rows of a larger batch\'s mask (an MPI rank\'s shard), also past 2^32 elements, every backend', () => {
  const rows = 6, row = 1001, n = rows * row, p = 0.4, seed = 77;
  const x = rng(8).f32(n), dout = rng(9).f32(n);
  for (const base of [0, 2 ** 32 - 3 * row]) { // the second wraps mod 2^32 inside the batch
    const whole = new Float32Array(n), wholeDx = new Float32Array(n);
    dropoutForward(whole, x, n, p, seed, base);
    dropoutBackward(wholeDx, dout, n, p, seed, base);
    for (const [lo, hi] of [[0, 2], [2, 5], [5, 6]]) {
      const part = (a: Float32Array) => a.slice(lo * row, hi * row);
      const m = (hi - lo) * row, off = base + lo * row;
      const kernels = [{ name: 'reference', fwd: dropoutForward, bwd: dropoutBackward },
        ...variants.map((v) => ({ name: v.name, fwd: (...a: Parameters<typeof dropoutForward>) => { v.activate(); v.backend.dropoutForward(...a); },
          bwd: (...a: Parameters<typeof dropoutBackward>) => { v.activate(); v.backend.dropoutBackward(...a); } }))];
      for (const k of kernels) {
        const out = new Float32Array(m), dx = new Float32Array(m);
        k.fwd(out, part(x), m, p, seed, off);
        sameBits(`${k.name} rows ${lo}..${hi} at ${base}: forward`, out, part(whole));
        k.bwd(dx, part(dout), m, p, seed, off);
        sameBits(`${k.name} rows ${lo}..${hi} at ${base}: backward`, dx, part(wholeDx));
      }
    }
  }
});

test('reference dropout backward matches finite differences (a fixed mask is linear)', () => {
  const n = 30, p = 0.3, seed = 99;
  const x = f64(rng(4).f32(n)), dout = f64(rng(5).f32(n));
  const dx = new Float64Array(n);
  dropoutBackward(asF32(dx), asF32(dout), n, p, seed, 0);
  gradcheck('dropout', [x], [0], ([xs]) => { const y = new Float64Array(n); dropoutForward(asF32(y), asF32(xs), n, p, seed, 0); return y; },
    dout, [dx], { atol: 1e-6, rtol: 1e-6 }); // the backward rounds dout * scale to float32
});

test('dropout: p outside [0, 1] and short buffers are errors', () => {
  const f = (k: number) => new Float32Array(k);
  assert.throws(() => dropoutForward(f(4), f(4), 4, 1.5, 1, 0), /p must be in \[0, 1\]/);
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.dropoutForward(f(4), f(4), 4, 1.5, 1, 0), /dropoutForward: argument 'p' must be in \[0, 1\]/);
    assert.throws(() => v.backend.dropoutBackward(f(4), f(4), 4, -0.1, 1, 0), /argument 'p'/);
    assert.throws(() => v.backend.dropoutForward(f(4), f(3), 4, 0.5, 1, 0), /argument 'x' has 3 elements/);
    assert.throws(() => v.backend.dropoutBackward(f(3), f(4), 4, 0.5, 1, 0), /argument 'dx'/);
  }
});
