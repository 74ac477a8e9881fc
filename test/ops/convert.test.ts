// halfToF32 (loading f16 / bf16 checkpoints): native, every ISA, equals the reference on every bit pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { halfToF32 } from '../../src/backend/reference/convert.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

requireNative();
const variants = nativeVariants();

test('native halfToF32 vs reference: all 65536 f16 and bf16 patterns, exact (NaN stays NaN)', () => {
  assert.ok(variants.length > 0, 'no native variants');
  const src = Uint16Array.from({ length: 65536 + 3 }, (_, i) => i & 0xffff); // odd length: a partial tail
  for (const bf16 of [false, true]) {
    const want = new Float32Array(src.length);
    halfToF32(want, src, src.length, bf16);
    assert.equal(want[0x3c00], bf16 ? 0.0078125 : 1, 'reference sanity: 0x3c00 is 1 in f16, 2^-7 in bf16');
    for (const v of variants) {
      v.activate();
      const out = new Float32Array(src.length).fill(7);
      v.backend.halfToF32(out, src, src.length, bf16);
      for (let i = 0; i < src.length; i++) {
        if (!(Object.is(out[i], want[i]) || (Number.isNaN(out[i]) && Number.isNaN(want[i])))) {
          assert.fail(`${v.name} ${bf16 ? 'bf16' : 'f16'} 0x${src[i].toString(16)}: ${out[i]} vs ${want[i]}`);
        }
      }
    }
  }
  const out = new Float32Array(4).fill(7);
  variants[0].backend.halfToF32(out, Uint16Array.of(0x3c00, 0xc000, 0x3c00, 0x3c00), 2, false);
  assert.deepEqual([...out], [1, -2, 7, 7], 'only n values are written');
});
