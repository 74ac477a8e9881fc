// AdamW and SGD: numbers derived by hand, native (every ISA) vs reference over several steps, one
// AdamW step of the gpt2-tiny fixture against PyTorch's (after1.safetensors), and argument errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adamw, sgd } from '../../src/backend/reference/optimizers.js';
import type { Backend } from '../../src/backend/backend.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';
import { expectClose, rng } from '../helpers/close.js';

requireNative();
const variants = nativeVariants();
type Opt = Pick<Backend, 'adamw' | 'sgd'>;
const all: { name: string; b: Opt; activate(): void }[] = [
  { name: 'reference', b: { adamw, sgd }, activate() {} },
  ...variants.map((v) => ({ name: v.name, b: v.backend, activate: v.activate })),
];

test('adamw by hand: with a constant gradient every step moves by lr * sign(g), after the decay', () => {
  for (const o of all) {
    o.activate();
    const p = new Float32Array([1, -2]), g = new Float32Array([0.5, -0.25]), m = new Float32Array(2), v = new Float32Array(2);
    // step 1: p *= 1 - 0.1*0.01; m = 0.1 g; v = 0.001 g^2; m / (1 - 0.9) = g, sqrt(v / (1 - 0.999)) = |g|
    o.b.adamw(p, g, m, v, 2, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
    expectClose(`${o.name} step 1 param`, p, [0.999 - 0.1, -1.998 + 0.1], { atol: 2e-7, rtol: 0 });
    expectClose(`${o.name} step 1 m`, m, [0.05, -0.025], { atol: 1e-9, rtol: 1e-6 });
    expectClose(`${o.name} step 1 v`, v, [0.00025, 0.0000625], { atol: 1e-12, rtol: 1e-6 });
    // step 2: m = 0.095, v = 0.00049975; m / 0.19 = 0.5 and v / 0.001999 = 0.25 again
    o.b.adamw(p, g, m, v, 2, 0.1, 0.9, 0.999, 1e-8, 0.01, 2);
    expectClose(`${o.name} step 2 param`, p, [0.899 * 0.999 - 0.1, -1.898 * 0.999 + 0.1], { atol: 3e-7, rtol: 0 });
    expectClose(`${o.name} step 2 m`, m, [0.095, -0.0475], { atol: 1e-9, rtol: 1e-6 });
  }
});

test('sgd by hand: weight decay, momentum (buf = grad first), dampening, nesterov, plain', () => {
  for (const o of all) {
    o.activate();
    const run = (momentum: number, dampening: number, nesterov: boolean, wd: number) => {
      const p = new Float32Array([1]), g = new Float32Array([0.5]), buf = new Float32Array(1);
      o.b.sgd(p, g, buf, 1, 0.1, momentum, dampening, nesterov, wd, true);
      const p1 = p[0], b1 = buf[0];
      o.b.sgd(p, g, buf, 1, 0.1, momentum, dampening, nesterov, wd, false);
      assert.equal(g[0], 0.5, 'grad is not modified');
      return [p1, b1, p[0], buf[0]];
    };
    // d = 0.5 + 0.1 * 1 = 0.6 = buf; p = 0.94; then d = 0.5 + 0.094, buf = 0.9 * 0.6 + 0.594 = 1.134, p = 0.8266
    expectClose(`${o.name} momentum + wd`, run(0.9, 0, false, 0.1), [0.94, 0.6, 0.8266, 1.134], { atol: 2e-7, rtol: 0 });
    // nesterov: d = 0.6 + 0.9 * 0.6 = 1.14, p = 0.886; then d = 0.5 + 0.0886 = 0.5886, buf = 0.54 + 0.5886 = 1.1286,
    // d = 0.5886 + 0.9 * 1.1286 = 1.60434, p = 0.886 - 0.160434 = 0.725566
    expectClose(`${o.name} nesterov`, run(0.9, 0, true, 0.1), [0.886, 0.6, 0.725566, 1.1286], { atol: 2e-7, rtol: 0 });
    // dampening 0.5: buf = 0.5 first (no dampening on the first step), then 0.9 * 0.5 + 0.5 * 0.5 = 0.7
    expectClose(`${o.name} dampening`, run(0.9, 0.5, false, 0), [0.95, 0.5, 0.88, 0.7], { atol: 2e-7, rtol: 0 });
    // momentum 0: plain SGD, buf untouched
    expectClose(`${o.name} plain`, run(0, 0, false, 0), [0.95, 0, 0.9, 0], { atol: 2e-7, rtol: 0 });
  }
});

test('native adamw / sgd vs reference over several steps, every ISA', () => {
  assert.ok(variants.length > 0, 'no native variants');
  for (const n of [1, 7, 129, 50001]) {
    const r = rng(n);
    const p0 = r.f32(n), grads = [r.f32(n), r.f32(n, 1e-3), r.f32(n, 10)];
    grads[1][0] = 0; // a zero gradient: the update is 0 / (0 + eps)
    const want = { p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n), sp: p0.slice(), buf: new Float32Array(n) };
    grads.forEach((g, k) => {
      adamw(want.p, g, want.m, want.v, n, 3e-4, 0.9, 0.95, 1e-8, 0.1, k + 1);
      sgd(want.sp, g, want.buf, n, 0.01, 0.9, 0.1, false, 1e-4, k === 0);
    });
    for (const v of variants) {
      v.activate();
      const got = { p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n), sp: p0.slice(), buf: new Float32Array(n) };
      grads.forEach((g, k) => {
        v.backend.adamw(got.p, g, got.m, got.v, n, 3e-4, 0.9, 0.95, 1e-8, 0.1, k + 1);
        v.backend.sgd(got.sp, g, got.buf, n, 0.01, 0.9, 0.1, false, 1e-4, k === 0);
      });
      const tol = { atol: 1e-7, rtol: 1e-6 };
      expectClose(`adamw param ${v.name} n=${n}`, got.p, want.p, tol);
      expectClose(`adamw m ${v.name} n=${n}`, got.m, want.m, tol);
      expectClose(`adamw v ${v.name} n=${n}`, got.v, want.v, tol);
      // a fused multiply-add in momentum * buf + (1 - dampening) * d can round differently where it cancels;
      // gradients reach |g| ~ 30 here, whose float32 ulp is 2e-6
      const sgdTol = { atol: 4e-6, rtol: 1e-6 };
      expectClose(`sgd param ${v.name} n=${n}`, got.sp, want.sp, sgdTol);
      expectClose(`sgd buf ${v.name} n=${n}`, got.buf, want.buf, sgdTol);
    }
  }
});

// ---- gpt2-tiny: one AdamW step against PyTorch (torch.optim.AdamW, lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 0.1) ----

/** A minimal safetensors reader for this test (F32 only): 8-byte LE header length, JSON header, data. */
function readSafetensors(path: URL): Map<string, Float32Array> {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + headerLen;
  const out = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(t.dtype, 'F32', `${name}: this reader only reads F32`);
    const [begin, end] = t.data_offsets;
    const bytes = buf.subarray(base + begin, base + end);
    const a = new Float32Array((end - begin) / 4);
    for (let i = 0; i < a.length; i++) a[i] = bytes.readFloatLE(4 * i);
    assert.equal(a.length, t.shape.reduce((x, y) => x * y, 1), `${name}: size does not match its shape`);
    out.set(name, a);
  }
  return out;
}

test('adamw step 1 on gpt2-tiny matches after1.safetensors (PyTorch), every backend', () => {
  const dir = new URL('../../../test/fixtures/gpt2-tiny/', import.meta.url);
  const model = readSafetensors(new URL('model.safetensors', dir));
  const grads = readSafetensors(new URL('grads.safetensors', dir));
  const after1 = readSafetensors(new URL('after1.safetensors', dir));
  assert.equal(grads.size, 28);
  // Step 2 (after2.safetensors) needs the gradient at after1, which the fixtures do not hold: not tested here.
  for (const o of all) {
    o.activate();
    let unstable = 0;
    for (const [name, g] of grads) {
      const p = model.get(name)!.slice(), want = after1.get(name)!;
      o.b.adamw(p, g, new Float32Array(p.length), new Float32Array(p.length), p.length, 1e-3, 0.9, 0.999, 1e-8, 0.1, 1);
      // the README's rule: 1e-5, but 2.5e-3 where 0 < |g| < 1e-6 (the update's sign is rounding noise there)
      for (let i = 0; i < p.length; i++) {
        const a = Math.abs(g[i]);
        const loose = a > 0 && a < 1e-6;
        if (loose) unstable++;
        const tol = loose ? 2.5e-3 : 1e-5;
        if (!(Math.abs(p[i] - want[i]) <= tol)) assert.fail(`${o.name} ${name}[${i}] = ${p[i]}, after1 ${want[i]} (grad ${g[i]}, tolerance ${tol})`);
      }
    }
    assert.equal(unstable, 1035, 'the README counts 1035 elements with 0 < |g| < 1e-6');
  }
});

test('optimizers: bad step, nesterov without momentum, short buffers are errors', () => {
  const f = (k: number) => new Float32Array(k);
  assert.throws(() => adamw(f(2), f(2), f(2), f(2), 2, 1e-3, 0.9, 0.999, 1e-8, 0, 0), /step must be an integer >= 1/);
  assert.throws(() => sgd(f(2), f(2), f(2), 2, 0.1, 0.9, 0.5, true, 0, true), /nesterov momentum requires/);
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.adamw(f(2), f(2), f(2), f(2), 2, 1e-3, 0.9, 0.999, 1e-8, 0, 0), /adamw: argument 'step' must be >= 1/);
    assert.throws(() => v.backend.adamw(f(2), f(2), f(2), f(1), 2, 1e-3, 0.9, 0.999, 1e-8, 0, 1), /adamw: argument 'v' has 1 elements/);
    assert.throws(() => v.backend.sgd(f(2), f(2), f(2), 2, 0.1, 0, 0, true, 0, true), /sgd: nesterov momentum requires/);
    assert.throws(() => v.backend.sgd(f(2), f(2), f(1), 2, 0.1, 0.9, 0, false, 0, true), /sgd: argument 'buf' has 1 elements/);
    v.backend.sgd(f(2), f(2), f(0), 2, 0.1, 0, 0, false, 0, true); // no momentum: buf is not used
  }
});
