// GELU (tanh and erf forms), SiLU and tanh: native (every ISA) vs reference, accumulation, and float64 gradchecks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ref from '../../src/backend/reference/activations.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';
import { asF32, f64, gradcheck } from '../helpers/finite_diff.js';

requireNative();
const variants = nativeVariants();
const SIZES = [1, 7, 16, 129, 1000, 70001]; // the last one spans threads

type Fwd = (out: Float32Array, x: Float32Array, n: number) => void;
type Bwd = (dx: Float32Array, dout: Float32Array, x: Float32Array, n: number) => void;
const OPS: { name: string; fwd: 'geluForward' | 'siluForward' | 'geluErfForward' | 'tanhForward';
  bwd: 'geluBackward' | 'siluBackward' | 'geluErfBackward' | 'tanhBackward'; refFwd: Fwd; refBwd: Bwd; fromOutput?: boolean }[] = [
  { name: 'gelu', fwd: 'geluForward', bwd: 'geluBackward', refFwd: ref.geluForward, refBwd: ref.geluBackward },
  { name: 'silu', fwd: 'siluForward', bwd: 'siluBackward', refFwd: ref.siluForward, refBwd: ref.siluBackward },
  { name: 'gelu_erf', fwd: 'geluErfForward', bwd: 'geluErfBackward', refFwd: ref.geluErfForward, refBwd: ref.geluErfBackward },
  // tanh's backward reads the forward's output y (dx += dout (1 - y^2)).
  { name: 'tanh', fwd: 'tanhForward', bwd: 'tanhBackward', refFwd: ref.tanhForward, refBwd: ref.tanhBackward, fromOutput: true },
];

// Inputs spanning the interesting ranges: around 0, the curved region, and far tails (saturation).
function inputs(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = r.f32(n, 3);
  const extremes = [0, -0, 1e-8, -1e-8, 12, -12, 40, -40, 95, -95, 1e4, -1e4];
  for (let i = 0; i < Math.min(n, extremes.length); i++) x[(i * 7919) % n] = extremes[i];
  return x;
}

test('native activations vs reference, every ISA, odd sizes', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const op of OPS) {
    for (const n of SIZES) {
      const x = inputs(n, n);
      const dout = rng(n + 1).f32(n);
      const dx0 = rng(n + 2).f32(n); // pre-filled: backward must add to it
      const wantOut = new Float32Array(n);
      op.refFwd(wantOut, x, n);
      const wantDx = dx0.slice();
      const saved = op.fromOutput ? wantOut : x; // what backward reads
      op.refBwd(wantDx, dout, saved, n);
      for (const v of variants) {
        v.activate();
        const out = new Float32Array(n + 3).fill(7); // longer buffer: the tail must be left alone
        v.backend[op.fwd](out, x, n);
        expectClose(`${op.name} fwd ${v.name} n=${n}`, out.subarray(0, n), wantOut, { atol: 2e-7, rtol: 2e-6 });
        assert.deepEqual(Array.from(out.subarray(n)), [7, 7, 7]);
        const dx = dx0.slice();
        v.backend[op.bwd](dx, dout, saved, n);
        expectClose(`${op.name} bwd ${v.name} n=${n}`, dx, wantDx, { atol: 1e-6, rtol: 2e-6 });
      }
    }
  }
});

// BERT's gelu in its tails: Phi comes from erfc, not 1 - erf, so the result keeps its relative accuracy
// where the output is tiny (x -> -inf) and where Phi -> 1; beyond |x| = 6 only float32's own x^2 error is left.
test('native gelu_erf keeps relative accuracy on [-6, 6] (forward and backward), every ISA', () => {
  const n = 1201;
  const x = Float32Array.from({ length: n }, (_, i) => -6 + i * 0.01);
  const wantOut = new Float32Array(n), wantDx = new Float32Array(n), ones = new Float32Array(n).fill(1);
  ref.geluErfForward(wantOut, x, n);
  ref.geluErfBackward(wantDx, ones, x, n);
  for (const v of variants) {
    v.activate();
    const out = new Float32Array(n), dx = new Float32Array(n);
    v.backend.geluErfForward(out, x, n);
    v.backend.geluErfBackward(dx, ones, x, n);
    expectClose(`gelu_erf fwd ${v.name}`, out, wantOut, { atol: 1e-30, rtol: 1e-5 });
    // Phi(x) + x phi(x) cancels near x = -0.75: the bound scales with the two terms, not their sum.
    for (let i = 0; i < n; i++) {
      const xi = x[i], phi = 0.5 * (1 + ref.erf(xi * Math.SQRT1_2)), dens = Math.abs(xi) * Math.exp(-0.5 * xi * xi) / Math.sqrt(2 * Math.PI);
      assert.ok(Math.abs(dx[i] - wantDx[i]) <= 1e-5 * (phi + dens), `gelu_erf bwd ${v.name} x=${xi}: ${dx[i]} vs ${wantDx[i]}`);
    }
  }
});

test('reference activation backwards match float64 finite differences', () => {
  for (const op of OPS) {
    const n = 40;
    const x = f64(rng(5).f32(n, 2));
    const dout = f64(rng(6).f32(n));
    const dx = new Float64Array(n).fill(0.25); // accumulate: subtract the prefill afterwards
    const y = new Float64Array(n);
    op.refFwd(asF32(y), asF32(x), n);
    op.refBwd(asF32(dx), asF32(dout), asF32(op.fromOutput ? y : x), n);
    for (let i = 0; i < n; i++) dx[i] -= 0.25;
    gradcheck(op.name, [x], [0], ([xs]) => { const y = new Float64Array(n); op.refFwd(asF32(y), asF32(xs), n); return y; }, dout, [dx]);
  }
});

test('reference erf matches known values to double precision', () => {
  // erf values from Abramowitz & Stegun table 7.1 / mpmath.
  const cases: [number, number][] = [[0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
    [2, 0.9953222650189527], [2.6, 0.9997639655834707], [3.5, 0.9999992569016276], [-1.3, -0.9340079449406524]];
  for (const [x, want] of cases) assert.ok(Math.abs(ref.erf(x) - want) < 1e-14, `erf(${x}) = ${ref.erf(x)}, want ${want}`);
});

test('activations: short buffers are errors naming the argument', () => {
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.geluForward(new Float32Array(3), new Float32Array(4), 4), /geluForward: argument 'out' has 3 elements/);
    assert.throws(() => v.backend.siluBackward(new Float32Array(4), new Float32Array(4), new Float32Array(2), 4), /argument 'x'/);
  }
});
