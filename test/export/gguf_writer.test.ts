// The GGUF writer read back by an independent parser (node-llama-cpp's readGgufFileInfo): every
// metadata type incl. arrays, tensor infos with ggml's reversed dims, 32-byte aligned offsets, and the
// tensor bytes; q8_0 blocks bit for bit as ggml's quantize_row_q8_0 lays them out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { quantizeQ8_0, writeGguf, type GgufValue } from '../../src/formats/gguf.js';
import { permuteRows } from '../../src/export/gguf_tensors.js';
import { preTokenizerName } from '../../src/export/gguf_tokenizer.js';
import { modelfileText } from '../../src/export/modelfile.js';
import { tempDir } from '../helpers/temp_dir.js';

const ROOT = tempDir('gguf-writer-');

test('q8_0: d = max|x| / 127 as f16, then x / d rounded half away from zero into int8', () => {
  const x = new Float32Array(64);
  for (let j = 0; j < 32; j++) x[j] = j - 16.5;   // -16.5 .. 14.5: amax 16.5
  x[5] = 127; x[6] = -2.5; x[7] = 2.5;             // amax 127 -> d = 1 exactly
  const q = quantizeQ8_0(x);
  assert.equal(q.length, 68);
  const view = new DataView(q.buffer);
  assert.equal(view.getUint16(0, true), 0x3c00);   // f16 1.0
  assert.equal(view.getInt8(2 + 0), -17);          // -16.5 -> -17 (away from zero)
  assert.equal(view.getInt8(2 + 31), 15);          // 14.5 -> 15
  assert.equal(view.getInt8(2 + 5), 127);
  assert.equal(view.getInt8(2 + 6), -3);
  assert.equal(view.getInt8(2 + 7), 3);
  // An all-zero block: d = 0 and zeros (no division by zero).
  assert.deepEqual([...q.subarray(34, 68)], new Array(34).fill(0));
  // amax 1: d = 1/127 rounds to f16 0x2008; 1 * (1/d) -> 127.
  const y = new Float32Array(32); y[0] = 1; y[1] = -0.5;
  const qy = new DataView(quantizeQ8_0(y).buffer);
  assert.equal(qy.getUint16(0, true), 0x2008);
  assert.equal(qy.getInt8(2), 127);
  assert.equal(qy.getInt8(3), -64);               // -63.5 -> -64
  assert.throws(() => quantizeQ8_0(new Float32Array(33)), /32-value blocks/);
});

test('header, metadata of every type, tensor infos and aligned data read back by node-llama-cpp', async () => {
  const path = join(ROOT, 'all.gguf');
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.alignment', { type: 'u32', value: 32 }],
    ['t.u8', { type: 'u8', value: 200 }], ['t.i8', { type: 'i8', value: -100 }],
    ['t.u16', { type: 'u16', value: 60000 }], ['t.i16', { type: 'i16', value: -30000 }],
    ['t.i32', { type: 'i32', value: -7 }], ['t.f32', { type: 'f32', value: 1.5 }],
    ['t.bool', { type: 'bool', value: true }], ['t.u64', { type: 'u64', value: 2n ** 40n }],
    ['t.i64', { type: 'i64', value: -5 }], ['t.f64', { type: 'f64', value: 0.1 }],
    ['t.strs', { type: 'array', itemType: 'string', value: ['a', 'Ġb', '😀'] }],
    ['t.ints', { type: 'array', itemType: 'i32', value: [1, -2, 3] }],
  ];
  const a = Float32Array.from({ length: 3 * 5 }, (_, i) => i * 0.25);
  const b = Float32Array.from({ length: 2 * 32 }, (_, i) => Math.sin(i));
  writeGguf(path, { metadata, tensors: [
    { name: 'a', shape: [3, 5], type: 'F32', data: () => a },
    { name: 'b', shape: [2, 32], type: 'Q8_0', data: () => b },
    { name: 'c', shape: [7], type: 'F16', data: () => new Float32Array([1, 2, 3, 4, 5, 6, 7]) },
    { name: 'd', shape: [2, 2], type: 'BF16', data: () => new Float32Array([1, -2, 0.5, 3]) },
  ] });
  const info = await readGgufFileInfo(path, { logWarnings: false });
  assert.equal(info.version, 3);
  const md = info.metadata as unknown as { t: Record<string, unknown>; general: Record<string, unknown> };
  assert.deepEqual({ ...md.t }, {
    u8: 200, i8: -100, u16: 60000, i16: -30000, i32: -7, f32: 1.5, bool: true, u64: 2n ** 40n, i64: -5n, f64: 0.1,
    strs: ['a', 'Ġb', '😀'], ints: [1, -2, 3],
  });
  const t = info.tensorInfo!;
  assert.deepEqual(t.map((x) => [x.name, x.dimensions.map(Number), x.ggmlType, Number(x.offset)]),
    [['a', [5, 3], 0, 0], ['b', [32, 2], 8, 64], ['c', [7], 1, 160], ['d', [2, 2], 30, 192]]);
  const bytes = readFileSync(path);
  const at = (name: string) => Number(t.find((x) => x.name === name)!.fileOffset);
  assert.equal(at('a') % 32, 0);
  assert.deepEqual(new Float32Array(bytes.buffer.slice(bytes.byteOffset + at('a'), bytes.byteOffset + at('a') + 60)), a);
  assert.deepEqual(bytes.subarray(at('b'), at('b') + 68), Buffer.from(quantizeQ8_0(b)));
  assert.deepEqual([...bytes.subarray(at('c'), at('c') + 4)], [0x00, 0x3c, 0x00, 0x40]); // f16 1, 2
  assert.deepEqual([...bytes.subarray(at('d'), at('d') + 4)], [0x80, 0x3f, 0x00, 0xc0]); // bf16 1, -2
  assert.equal(bytes.length, at('d') + 32); // every tensor, the last included, padded to the alignment (as gguf-py writes)
});

test('writer refusals name the key or tensor', () => {
  const p = join(ROOT, 'bad.gguf');
  assert.throws(() => writeGguf(p, { metadata: [['k', { type: 'u32', value: 1.5 }]], tensors: [] }), /'k': 1.5 is not a u32/);
  assert.throws(() => writeGguf(p, { metadata: [['k', { type: 'u8', value: 1 }], ['k', { type: 'u8', value: 2 }]], tensors: [] }), /'k' is given twice/);
  assert.throws(() => writeGguf(p, { metadata: [], tensors: [{ name: 'w', shape: [2, 33], type: 'Q8_0', data: () => new Float32Array(66) }] }), /'w': Q8_0 needs rows of a multiple of 32/);
});

test('q/k permutation: each head\'s [2, D/2] rows become interleaved pairs (convert_hf_to_gguf.py)', () => {
  // 2 heads of D = 4 rows, rows numbered: head 0 = 0 1 2 3 -> 0 2 1 3; head 1 = 4 5 6 7 -> 4 6 5 7.
  const rows = Float32Array.from({ length: 8 }, (_, i) => i);
  assert.deepEqual([...permuteRows(rows, 2, 1)], [0, 2, 1, 3, 4, 6, 5, 7]);
});

test('pre-tokenizer names llama.cpp knows, and a clear refusal for others', () => {
  assert.equal(preTokenizerName({ type: 'ByteLevel', add_prefix_space: false, use_regex: true }), 'gpt-2');
  assert.equal(preTokenizerName({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', use_regex: true }] }), 'smollm');
  assert.throws(() => preTokenizerName({ type: 'ByteLevel', add_prefix_space: true }, 'x/tokenizer.json'), /x\/tokenizer.json: pre_tokenizer .* has no llama.cpp name/);
});

test('Modelfile: FROM and ADAPTER relative to its folder, ChatML template, stops', () => {
  const tok = { tokenizer: { idToToken: (id: number) => (id === 2 ? '<|im_end|>' : undefined), isSpecial: () => true }, chatTemplate: '{{ "<|im_start|>" }}' } as never;
  const text = modelfileText('/x', { from: '/x/base.gguf', adapter: '/x/a.gguf', tokenizer: tok, eosIds: [2] });
  assert.equal(text.split('\n').slice(0, 2).join('\n'), 'FROM ./base.gguf\nADAPTER ./a.gguf');
  assert.match(text, /TEMPLATE """.*<\|im_start\|>assistant\n"""/s);
  assert.equal(text.match(/PARAMETER stop/g)!.length, 1);
});
