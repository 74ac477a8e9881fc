// NF4 with double quantization against golden tensors that scripts/fixtures/make_nf4_golden.py computed
// by bitsandbytes' algorithm in torch (nibbles, absmax codes, absmax2, offset, dequantized values).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSafetensors } from '../../src/formats/safetensors.js';
import { DYNAMIC_MAP, NF4_TABLE, dequantizeNf4, nf4Bytes, quantizeNf4 } from '../../src/formats/nf4.js';
import { fixturePath } from '../helpers/fixtures.js';

const golden = loadSafetensors(fixturePath('nf4', 'golden.safetensors')).tensors;
const t = (name: string) => {
  const x = golden.get(name);
  if (!x) throw new Error(`golden.safetensors has no tensor '${name}'`);
  return x.data;
};
const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

function firstDiff(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${name}: length`);
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) assert.fail(`${name}[${i}] is ${got[i]}, bitsandbytes' algorithm gives ${want[i]}`);
}

test('the NF4 table and the signed 8-bit dynamic map are bitsandbytes\' (get_4bit_type, create_dynamic_map)', () => {
  firstDiff('nf4_table', NF4_TABLE, t('nf4_table') as Float32Array);
  firstDiff('dynamic_map bits', bits(DYNAMIC_MAP), bits(t('dynamic_map') as Float32Array));
});

for (const name of ['normal', 'rows96', 'edge']) {
  test(`quantize_4bit nf4 + compress_statistics on '${name}': the same nibbles, absmax codes, absmax2, offset and dequantized values`, () => {
    const w = t(`${name}.weight`) as Float32Array;
    const q = quantizeNf4(w);
    const offset = (t(`${name}.offset`) as Float32Array)[0];
    // torch's mean is a pairwise f32 sum; ours the f64 sum rounded once: equal here, at most a last bit in general.
    assert.equal(q.offset, offset, 'offset (mean absmax)');
    firstDiff('nibbles', q.blocks, t(`${name}.packed`) as Uint8Array);
    firstDiff('absmax codes', q.absmaxCodes, t(`${name}.absmax_q`) as Uint8Array);
    firstDiff('absmax2 bits', bits(q.absmax2), bits(t(`${name}.absmax2`) as Float32Array));
    const y = dequantizeNf4(q, w.length);
    firstDiff('dequantized bits', bits(y), bits(t(`${name}.dequantized`) as Float32Array));
    assert.equal(nf4Bytes(w.length), q.blocks.length + q.absmaxCodes.length + 4 * q.absmax2.length);
    // The error is about half the table's widest gap (1 - 0.7229) times the block's absmax, plus the
    // double-quantized absmax's own error (a few percent at most).
    let worst = 0;
    for (let b = 0; b < w.length; b += 64) {
      let am = 0;
      for (let i = b; i < b + 64; i++) am = Math.max(am, Math.abs(w[i]));
      for (let i = b; i < b + 64; i++) worst = Math.max(worst, Math.abs(y[i] - w[i]) / (am || 1));
    }
    assert.ok(worst < 0.17, `relative error ${worst}`);
  });
}

test('a value on a midpoint takes the lower code; zeros stay exactly zero; the first value of a pair is the high nibble', () => {
  const x = new Float32Array(64);
  x[0] = 1;                                            // absmax 1: scaled values are the values
  x[1] = Math.fround(Math.fround(NF4_TABLE[7] + NF4_TABLE[8]) / 2); // midpoint of codes 7 and 8 -> 7
  x[2] = -1;                                           // code 0
  x[3] = 0.7;                                          // nearest is 0.7229 (code 14)
  const q = quantizeNf4(x);
  assert.equal(q.blocks[0], (15 << 4) | 7);
  assert.equal(q.blocks[1], (0 << 4) | 14);
  assert.equal(q.blocks[2], (7 << 4) | 7);
  assert.equal(dequantizeNf4(q, 64)[4], 0);
  assert.throws(() => quantizeNf4(new Float32Array(96)), /96 values is not a whole number of 64-value NF4 blocks/);
});
