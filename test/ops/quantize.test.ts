// quantizeGgml (Q8_0 / Q4_0) and quantizeNf4: native, at every ISA, byte for byte the reference (the
// format modules' TypeScript quantizers) on random data and on the edge cases of each step: zero blocks,
// ties at the rounding and bucket boundaries, +-FLT_MAX, denormals (scales that underflow, 1/d that
// overflows), f16 scale overflow, NaN and Inf, a short last absmax block, and lengths the threads split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeGgml as refGgml, quantizeNf4 as refNf4 } from '../../src/backend/reference/quantize.js';
import { quantBytes } from '../../src/formats/ggml_quant.js';
import { NF4_ABSMAX_BLOCK, NF4_BLOCK, NF4_TABLE, quantizeNf4 } from '../../src/formats/nf4.js';
import { loadSafetensors } from '../../src/formats/safetensors.js';
import { rng } from '../helpers/close.js';
import { fixturePath } from '../helpers/fixtures.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

requireNative();
const variants = nativeVariants();
const FLT_MAX = 3.4028234663852886e38;
const F = new Float32Array(1), U = new Uint32Array(F.buffer);
/** The f32 next to x away from zero (dir 1) or towards it (dir -1). */
const nextF32 = (x: number, dir: 1 | -1) => { F[0] = x; U[0] += dir; return F[0]; };

/** Blocks of `size` values, each an edge case of some quantizer step, then random blocks at scales 2^-30..2^30. */
function edgeData(size: number, randomBlocks: number, seed: number, nonFinite: boolean): Float32Array {
  const r = rng(seed);
  const blocks: number[][] = [];
  const fill = (f: (j: number) => number) => blocks.push(Array.from({ length: size }, (_, j) => f(j)));
  fill(() => 0);
  fill((j) => (j % 2 ? -0 : 0));
  fill((j) => (j === 3 ? -0 : 0));
  fill((j) => (j === 0 ? 127 : (j % 2 ? -1 : 1) * ((j % 127) + 0.5)));            // Q8_0: d = 1, x / d on halves
  fill((j) => (j === 0 ? 127 : (j % 2 ? -1 : 1) * ((j % 127) + 0.5)) * 2 ** -10);
  fill((j) => (j === 5 ? -8 : (j % 16) - 7.5));                                     // Q4_0: d = 1, x / d + 8.5 on integers
  fill((j) => (j === 5 ? 8 : 7.5 - (j % 16)));                                      // d = -1
  fill((j) => (j === 0 ? 1 : [0.5, -0.5, 0.25, -0.25][j % 4] * (j % 3 === 0 ? 1 : 3)));
  const nf4Bounds = Array.from({ length: 15 }, (_, i) => Math.fround(Math.fround(NF4_TABLE[i] + NF4_TABLE[i + 1]) / 2));
  fill((j) => (j === 0 ? 1 : nf4Bounds[j % 15]));                                    // NF4: absmax 1, values on the bucket bounds
  fill((j) => (j === 0 ? -1 : nextF32(nf4Bounds[j % 15], j % 2 ? 1 : -1)));
  fill((j) => (j === 1 ? FLT_MAX : j === 2 ? -FLT_MAX : r.normal()));
  fill((j) => (j === 1 ? -FLT_MAX : j === 2 ? FLT_MAX : r.normal() * 1e30));
  fill((j) => (j === 0 ? -2 : j === 1 ? 2 : r.uniform()));                          // the same magnitude, either sign first
  fill((j) => (j === 0 ? 2 : j === 1 ? -2 : r.uniform()));
  fill((j) => (j === 0 ? 1.4e-45 : 0));                                             // the least denormal alone
  fill(() => (r.uniform() - 0.5) * 1e-40);                                          // all denormal
  fill(() => (r.uniform() - 0.5) * 2e-44);
  fill((j) => (j === 7 ? 127 * 2 ** -127 : r.normal() * 2 ** -130));                // d denormal, 1/d finite
  fill((j) => (j === 7 ? 8 * 2 ** -127 : r.normal() * 2 ** -131));
  fill((j) => (j === 0 ? 1e-38 * 0.9 : r.normal() * 1e-39));                        // NF4's absmax floor of 1e-38
  fill((j) => (j === 4 ? 65504 * 127 * 1.01 : r.normal()));                         // d overflows f16
  fill((j) => (j === 4 ? 6e-8 * 127 : r.normal() * 1e-7));                          // d an f16 subnormal
  fill((j) => (j === 4 ? -1 : r.normal() * 1e-3));
  if (nonFinite) {
    fill((j) => (j === 9 ? NaN : r.normal()));
    fill((j) => (j === 9 ? Infinity : r.normal()));
    fill((j) => (j === 9 ? -Infinity : j === 10 ? NaN : r.normal()));
    fill(() => NaN);
  }
  for (let b = 0; b < randomBlocks; b++) {
    const scale = 2 ** Math.round(r.uniform() * 60 - 30);
    fill(() => r.normal() * scale);
  }
  return Float32Array.from(blocks.flat());
}

function firstDiff(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}: element ${i} is ${got[i]}, the reference gives ${want[i]}`);
  }
}

/** Whether byte i lies in a block scale that is an f16 NaN in both (a NaN's sign and payload are the JS engine's). */
function bothNanScales(got: Uint8Array, want: Uint8Array, i: number, bytes: number): boolean {
  const o = i - (i % bytes);
  if (i - o > 1) return false;
  const nan = (a: Uint8Array) => { const h = a[o] | (a[o + 1] << 8); return (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0; };
  return nan(got) && nan(want);
}

for (const [type, q4] of [['Q8_0', false], ['Q4_0', true]] as const) {
  test(`native quantizeGgml ${type} at every ISA: the reference's bytes on edge cases and random blocks`, () => {
    assert.ok(variants.length > 0, 'no native variants');
    for (const nonFinite of [false, true]) {
      const x = edgeData(32, 5000, q4 ? 7 : 8, nonFinite);   // 5000+ blocks: every thread gets some
      const want = new Uint8Array(quantBytes(type, x.length));
      refGgml(want, x, x.length, q4);
      for (const v of variants) {
        v.activate();
        const got = new Uint8Array(want.length + 5).fill(0xa5);
        v.backend.quantizeGgml(got, x, x.length, q4);
        const block = got.findIndex((b, i) => i < want.length && b !== want[i] && !bothNanScales(got, want, i, q4 ? 18 : 34));
        if (block >= 0) {
          const b = Math.floor(block / (q4 ? 18 : 34));
          assert.fail(`${v.name} ${type}: block ${b} (values ${[...x.subarray(32 * b, 32 * b + 4)].join(', ')}, ...) differs at byte ${block % (q4 ? 18 : 34)}`);
        }
        assert.deepEqual([...got.subarray(want.length)], [0xa5, 0xa5, 0xa5, 0xa5, 0xa5], 'only the blocks are written');
      }
    }
  });
}

test('native quantizeGgml: a prefix n of a longer x; n not whole blocks is an error naming n', () => {
  const x = edgeData(32, 3, 9, false);
  for (const v of variants) {
    v.activate();
    const got = new Uint8Array(34 * 2), want = new Uint8Array(34 * 2);
    v.backend.quantizeGgml(got, x, 64, false);
    refGgml(want, x, 64, false);
    firstDiff(`${v.name} prefix`, got, want);
    assert.throws(() => v.backend.quantizeGgml(new Uint8Array(100), x, 40, true), /'n' 40 values is not a whole number of 32-value blocks/);
    assert.throws(() => v.backend.quantizeGgml(new Uint8Array(10), x, 64, true), /'out' has 10 elements, needs at least 36/);
  }
});

function checkNf4(what: string, x: Float32Array): void {
  const n = x.length, nb = n / NF4_BLOCK, ng = Math.ceil(nb / NF4_ABSMAX_BLOCK);
  const want = { blocks: new Uint8Array(n / 2), codes: new Uint8Array(nb), absmax2: new Float32Array(ng) };
  const wantOffset = refNf4(want.blocks, want.codes, want.absmax2, x, n);
  for (const v of variants) {
    v.activate();
    const got = { blocks: new Uint8Array(n / 2), codes: new Uint8Array(nb), absmax2: new Float32Array(ng) };
    const offset = v.backend.quantizeNf4(got.blocks, got.codes, got.absmax2, x, n);
    assert.ok(Object.is(offset, wantOffset), `${v.name} ${what}: offset ${offset} vs ${wantOffset}`);
    firstDiff(`${v.name} ${what} nibbles`, got.blocks, want.blocks);
    firstDiff(`${v.name} ${what} absmax codes`, got.codes, want.codes);
    firstDiff(`${v.name} ${what} absmax2`, got.absmax2, want.absmax2);
  }
}

test('native quantizeNf4 at every ISA: the reference\'s nibbles, absmax codes, absmax2 and offset', () => {
  assert.ok(variants.length > 0, 'no native variants');
  // 2600+ blocks of 64: ten whole absmax groups of 256 and a short last one.
  checkNf4('edge cases', edgeData(64, 2600, 11, false));
  checkNf4('one block', edgeData(64, 0, 12, false).subarray(64 * 10, 64 * 11));
  checkNf4('NaN and Inf', edgeData(64, 300, 13, true));
  for (const v of variants) {
    v.activate();
    assert.throws(() => v.backend.quantizeNf4(new Uint8Array(64), new Uint8Array(2), new Float32Array(1), new Float32Array(96), 96),
      /'n' 96 values is not a whole number of 64-value NF4 blocks/);
  }
});

test('native quantizeNf4 on the bitsandbytes golden tensors gives the golden bytes', () => {
  const golden = loadSafetensors(fixturePath('nf4', 'golden.safetensors')).tensors;
  for (const name of ['normal', 'rows96', 'edge']) {
    const w = golden.get(`${name}.weight`)!.data as Float32Array;
    const spec = quantizeNf4(w);
    firstDiff(`${name}: reference vs golden nibbles`, spec.blocks, golden.get(`${name}.packed`)!.data as Uint8Array);
    checkNf4(name, w);
  }
});
