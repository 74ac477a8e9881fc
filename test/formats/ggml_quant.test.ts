// ggml's Q8_0 and Q4_0 blocks as ggml-quants.c lays them out (quantize_row_q{8,4}_0_ref and
// dequantize_row_q{8,4}_0): scales, rounding, Q4_0's nibble order, and round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dequantize, quantize, quantizeQ4_0, quantizeQ8_0 } from '../../src/formats/ggml_quant.js';
import { rng } from '../helpers/close.js';

test('q4_0: d = (the value of largest magnitude) / -8 as f16; q = min(15, trunc(x/d + 8.5)); element j low nibble, j+16 high', () => {
  const x = new Float32Array(64);
  // Block 0: largest magnitude -8 -> d = 1, so q = trunc(x + 8.5): x = -8 -> 0, x = 7 -> 15, x = 0.49 -> 8, x = -0.5 -> 8.
  for (let j = 0; j < 32; j++) x[j] = (j % 16) - 8;
  x[17] = 0.49; x[18] = -0.5; x[19] = -0.51;
  // Block 1: largest magnitude +8 -> d = -1, q = trunc(8.5 - x): x = 8 -> 0, x = -7.9 -> 15 (16.4 clamped).
  x[32] = 8; x[33] = -7.9; x[34] = 1;
  const q = quantizeQ4_0(x);
  assert.equal(q.length, 36);
  const view = new DataView(q.buffer);
  assert.equal(view.getUint16(0, true), 0x3c00);   // f16 1.0
  assert.equal(q[2 + 0], 0x00 | (0 << 4));          // elements 0 and 16 are both -8
  assert.equal(q[2 + 15], 15 | (15 << 4));          // elements 15 and 31 are 7
  assert.equal(q[2 + 1] >> 4, 8);                   // element 17: 0.49 + 8.5 = 8.99 -> 8
  assert.equal(q[2 + 2] >> 4, 8);                   // element 18: -0.5 + 8.5 = 8
  assert.equal(q[2 + 3] >> 4, 7);                   // element 19: 7.99 -> 7
  assert.equal(view.getUint16(18, true), 0xbc00);  // f16 -1.0
  assert.equal(q[20] & 0x0f, 0);
  assert.equal(q[21] & 0x0f, 15);
  assert.equal(q[22] & 0x0f, 7);                    // 8.5 - 1 = 7.5 -> 7
  assert.equal(q[23] & 0x0f, 8);                    // zeros: 8.5 -> 8
  // Dequantized: (q - 8) * d, low nibbles to the first half of the block, high to the second.
  const y = dequantize('Q4_0', q, 64);
  assert.equal(y[0], -8); assert.equal(y[16], -8); assert.equal(y[31], 7); assert.equal(y[17], 0); assert.equal(y[19], -1);
  assert.equal(y[32], 8); assert.equal(y[33], -7); assert.equal(y[34], 1); assert.equal(y[35], -0);
  // An all-zero block: d = 0 / -8 = -0 (f16 0x8000, as C computes it) and every nibble 8 (the zero point).
  const z = quantizeQ4_0(new Float32Array(32));
  assert.deepEqual([...z], [0x00, 0x80, ...new Array(16).fill(0x88)]);
  assert.throws(() => quantizeQ4_0(new Float32Array(40)), /32-value blocks/);
});

test('q8_0 dequantizes to q * d', () => {
  const x = new Float32Array(32);
  x[0] = 127; x[1] = -3; x[2] = 2.5;
  const y = dequantize('Q8_0', quantizeQ8_0(x), 32);
  assert.deepEqual([...y.subarray(0, 4)], [127, -3, 3, 0]);
});

for (const type of ['Q8_0', 'Q4_0'] as const) {
  test(`${type}: each value within half a step (Q4_0: one at the clamped end) of its block's scale, and quantizing the dequantized blocks gives the same bytes`, () => {
    const r = rng(type === 'Q8_0' ? 5 : 6);
    const x = r.f32(32 * 50, 2);
    for (let j = 0; j < 32; j++) x[32 * 7 + j] = 1e-3 * (j - 16);   // a block of small values (a small, still normal, f16 scale)
    const q = quantize(type, x);
    const y = dequantize(type, q, x.length);
    const view = new DataView(q.buffer);
    const bytes = type === 'Q8_0' ? 34 : 18;
    for (let b = 0; b < 50; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
      const step = type === 'Q8_0' ? amax / 127 : amax / 8;
      for (let j = 0; j < 32; j++) {
        const i = 32 * b + j;
        // Half a step, plus the f16 rounding of the scale (relative 2^-11) times the largest quant;
        // Q4_0's grid is -8d..7d, so on the side opposite the largest value a clamp may cost a whole step.
        const tol = (type === 'Q8_0' ? step / 2 : step) + amax * 2 ** -10 + 1e-12;
        assert.ok(Math.abs(y[i] - x[i]) <= tol, `${type} block ${b} element ${j}: ${x[i]} -> ${y[i]} (step ${step})`);
      }
      assert.ok(view.getUint16(b * bytes, true) !== 0, `block ${b} has a scale`);
    }
    assert.deepEqual(quantize(type, y), q);
  });
}
