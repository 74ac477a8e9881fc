// safetensors reader/writer: byte-for-byte equality with the Python-written fixtures, round trips for
// every dtype we convert, exact f16/bf16 rounding, and one clear error per kind of corrupt file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, loadSafetensors, saveSafetensors, serializeSafetensors, type Tensor } from '../../src/formats/safetensors.js';
import { openCheckpoint } from '../../src/formats/checkpoint.js';
import { bf16ToF32, f16ToF32, f32BitsToBF16, f32BitsToF16, f32ToBF16, f32ToF16 } from '../../src/formats/dtype.js';
import { GptuneError } from '../../src/util/errors.js';
import { rng } from '../helpers/close.js';

import { FIXTURES } from '../helpers/fixtures.js';
import { loadAddon } from '../../src/backend/native/binding.js';
import { tempDir } from '../helpers/temp_dir.js';

const FIXTURE_FILES = [
  'gpt2-tiny/model.safetensors', 'gpt2-tiny/cases.safetensors', 'gpt2-tiny/lora/adapter_model.safetensors',
  'llama-tiny/model.safetensors', 'llama-tiny/cases.safetensors',
];

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks);
const tmp = () => tempDir('st-');

// The shared originals too, where this checkout has them beside it (test/fixtures holds copies).
const SHARED = join(process.cwd(), '..', 'shared', 'fixtures');

test('rewriting the Python-written fixtures from their parsed tensors reproduces them byte for byte', () => {
  assert.ok(existsSync(FIXTURES), `fixtures not found at ${FIXTURES}`);
  const paths = FIXTURE_FILES.map((rel) => join(FIXTURES, rel));
  if (existsSync(join(SHARED, 'gpt2-tiny', 'model.safetensors'))) paths.push(join(SHARED, 'gpt2-tiny', 'model.safetensors'), join(SHARED, 'llama-tiny', 'model.safetensors'));
  for (const path of paths) {
    const rel = path;
    const original = readFileSync(path);
    const { metadata, tensors } = loadSafetensors(path);
    assert.deepEqual(metadata, { format: 'pt' });
    const rewritten = concat(serializeSafetensors(tensors, metadata));
    assert.equal(rewritten.length, original.length, `${rel}: length`);
    assert.ok(rewritten.equals(original), `${rel}: bytes differ`);
  }
});

test('fixture tensors read with the dtypes, shapes and values the header and data say', () => {
  const f = SafetensorsFile.open(join(FIXTURES, 'gpt2-tiny/model.safetensors'));
  try {
    const wte = f.info('transformer.wte.weight');
    assert.equal(wte.dtype, 'F32');
    assert.deepEqual(wte.shape, [512, 64]);
    const data = f.readFloat32('transformer.wte.weight');
    assert.equal(data.length, 512 * 64);
    const raw = f.readBytes('transformer.wte.weight');
    assert.equal(new DataView(raw.buffer).getFloat32(4 * 100, true), data[100]);
    assert.ok(data.some((x) => x !== 0));
  } finally {
    f.close();
  }
  // cases.safetensors: I64 token ids come back as Int32Array (they fit), F32 arrays as Float32Array.
  const c = loadSafetensors(join(FIXTURES, 'gpt2-tiny/cases.safetensors')).tensors;
  const ids = c.get('input_ids')!;
  assert.equal(ids.dtype, 'I64');
  assert.ok(ids.data instanceof Int32Array);
  assert.deepEqual(ids.shape, [2, 16]);
  const cases = JSON.parse(readFileSync(join(FIXTURES, 'gpt2-tiny/cases.json'), 'utf8'));
  assert.deepEqual([...ids.data as Int32Array], cases.forward.input_ids.flat());
});

test('round trip of every dtype we read, with and without metadata', () => {
  const r = rng(1);
  const f32 = r.f32(7 * 3);
  const tensors: Record<string, Tensor> = {
    'a.f32': { dtype: 'F32', shape: [7, 3], data: f32 },
    'b.f64': { dtype: 'F64', shape: [5], data: Float64Array.from([1.5, -2, 1e300, 0, Math.PI]) },
    'c.i64': { dtype: 'I64', shape: [2, 2], data: Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31)]) },
    'c.big': { dtype: 'I64', shape: [2], data: BigInt64Array.from([2n ** 40n, -(2n ** 62n)]) },
    'd.i32': { dtype: 'I32', shape: [3], data: Int32Array.from([1, -2, 3]) },
    'e.u8': { dtype: 'U8', shape: [4], data: Uint8Array.from([0, 1, 254, 255]) },
    'f.bool': { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
    'g.i16': { dtype: 'I16', shape: [1], data: Int16Array.from([-5]) },
    'h.empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    'i.scalar': { dtype: 'F32', shape: [], data: Float32Array.from([42]) },
  };
  for (const meta of [{ format: 'pt', note: 'x' }, null]) {
    const bytes = concat(serializeSafetensors(tensors, meta));
    assert.equal((bytes.readUInt32LE(0) + 8) % 8, 0, 'header padded to a multiple of 8');
    const f = SafetensorsFile.fromBytes(bytes);
    assert.deepEqual(f.metadata, meta);
    // Order: descending dtype alignment (I64, F64, F32, I32, I16, U8, BOOL), then name.
    assert.deepEqual(f.names(), ['c.big', 'c.i64', 'b.f64', 'a.f32', 'h.empty', 'i.scalar', 'd.i32', 'g.i16', 'e.u8', 'f.bool']);
    for (const [name, t] of Object.entries(tensors)) {
      const got = f.read(name);
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.equal(got.data.constructor, t.data.constructor, name);
      assert.deepEqual(Array.from(got.data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>), name);
    }
    // Writing what we read gives the same bytes again.
    assert.ok(concat(serializeSafetensors(f.names().map((n) => [n, f.read(n)]), meta)).equals(bytes));
  }
});

test('F16/BF16 tensors are converted on read and rounded back on write', () => {
  const x = Float32Array.from([0, -0, 1, -2.5, 65504, 1e-7, 3.14159, 1e38, Infinity, -Infinity, NaN]);
  const bytes = concat(serializeSafetensors({ h: { dtype: 'F16', shape: [x.length], data: x }, b: { dtype: 'BF16', shape: [x.length], data: x } }));
  const f = SafetensorsFile.fromBytes(bytes);
  assert.equal(f.info('h').end - f.info('h').begin, 2 * x.length);
  const h = f.readFloat32('h'), b = f.readFloat32('b');
  assert.deepEqual([...h], [...f16ToF32(f32ToF16(x))]);
  assert.deepEqual([...b], [...bf16ToF32(f32ToBF16(x))]);
  assert.equal(h[4], 65504);
  assert.equal(h[7], Infinity);       // 1e38 overflows f16
  assert.ok(Math.abs(b[7] - 1e38) / 1e38 < 1 / 128);
  assert.ok(Number.isNaN(h[10]) && Number.isNaN(b[10]));
  // Re-saving the converted tensors reproduces the file.
  assert.ok(concat(serializeSafetensors(f.names().map((n) => [n, f.read(n)]))).equals(bytes));
});

// Slow, obviously correct f32 -> f16: the nearest representable value, ties to the even bit pattern.
function slowF16(v: number, finite: Float32Array, bits: Uint16Array): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;             // halfway between 65504 and 2^16 rounds to inf
  let lo = 0, hi = finite.length - 1;                // finite: the 31744 non-negative finite f16 values, ascending
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (finite[mid] <= a) lo = mid; else hi = mid; }
  const dl = a - finite[lo], dh = finite[hi] - a;
  const pick = dl < dh ? lo : dh < dl ? hi : (bits[lo] & 1 ? hi : lo);
  return sign | bits[pick];
}

test('f32 -> f16 rounds to nearest even (checked against a brute-force search), and decodes every f16', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const dec = f16ToF32(all);
  const finite = dec.slice(0, 0x7c00), bits = all.slice(0, 0x7c00);
  // Every f16 survives f16 -> f32 -> f16.
  const u32 = new Uint32Array(dec.buffer);
  for (let h = 0; h < 65536; h++) {
    const back = f32BitsToF16(u32[h]);
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff)) assert.equal(back & 0x7c00, 0x7c00, 'NaN stays NaN');
    else assert.equal(back, h, `f16 0x${h.toString(16)}`);
  }
  const r = rng(7);
  const buf = new Float32Array(1), view = new Uint32Array(buf.buffer);
  for (let i = 0; i < 200_000; i++) {
    // Random bit patterns over the f16 range plus exact ties (midpoints between neighbours).
    if (i % 2) view[0] = ((r.uniform() * 0x4000) | 0) << 16 | ((r.uniform() * 65536) | 0);
    else { const k = (r.uniform() * 0x7bff) | 0; buf[0] = (finite[k] + finite[k + 1]) / 2; }
    if (r.uniform() < 0.5) buf[0] = -buf[0];
    assert.equal(f32BitsToF16(view[0]), slowF16(buf[0], finite, bits), `value ${buf[0]}`);
  }
  assert.equal(f32BitsToF16(new Uint32Array(Float32Array.from([2 ** -25]).buffer)[0]), 0);         // tie to even: 0
  assert.equal(f32BitsToF16(new Uint32Array(Float32Array.from([2 ** -25 * 1.5]).buffer)[0]), 1);   // above the tie
});

test('f32 -> bf16 rounds to nearest even', () => {
  const bitsOf = (x: number) => new Uint32Array(Float32Array.from([x]).buffer)[0];
  assert.equal(f32BitsToBF16(bitsOf(1)), 0x3f80);
  assert.equal(f32BitsToBF16(bitsOf(1 + 2 ** -8)), 0x3f80);            // tie, 1 is even
  assert.equal(f32BitsToBF16(bitsOf(1 + 3 * 2 ** -8)), 0x3f82);        // tie, rounds up to even
  assert.equal(f32BitsToBF16(bitsOf(1 + 2 ** -8 + 2 ** -20)), 0x3f81); // above the tie
  assert.equal(f32BitsToBF16(bitsOf(3.4028234663852886e38)), 0x7f80);  // f32 max overflows to inf
  assert.equal(f32BitsToBF16(bitsOf(-Infinity)), 0xff80);
  assert.equal(f32BitsToBF16(0x7f800001) & 0x7fc0, 0x7fc0);             // signalling NaN -> quiet NaN
});

// ---- corrupt files: each must give a GptuneError naming the file and, where there is one, the tensor ----

function header(obj: unknown, pad = true): Buffer {
  let h = Buffer.from(JSON.stringify(obj));
  if (pad) h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h]);
}

function expectError(bytes: Uint8Array, pattern: RegExp, name = 'bad.safetensors') {
  assert.throws(() => SafetensorsFile.fromBytes(bytes, name), (e: unknown) => {
    assert.ok(e instanceof GptuneError, `expected GptuneError, got ${e}`);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(name + ': '), e.message);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

test('corrupt or malformed files are refused with a one-line error naming the file and tensor', () => {
  const t = (dtype: string, shape: number[], data_offsets: number[]) => ({ dtype, shape, data_offsets });
  const data = Buffer.alloc(24);
  expectError(Buffer.alloc(5), /too small/);
  const huge = Buffer.alloc(16); huge.writeBigUInt64LE(200_000_000n);
  expectError(huge, /header length 200000000 is absurd/);
  const beyond = Buffer.alloc(16); beyond.writeBigUInt64LE(1000n);
  expectError(beyond, /header length 1000 runs past the end of the 16-byte file/);
  const notJson = Buffer.concat([header({}).subarray(0, 8), Buffer.from('{"a":   ')]);
  expectError(notJson, /header is not valid JSON/);
  const noBrace = Buffer.from(header({}).toString('latin1').replace('{}', '[]'), 'latin1');
  expectError(noBrace, /does not start with '\{'/);
  const badUtf8 = Buffer.concat([header({}).subarray(0, 8), Buffer.from([0x7b, 0xff, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20])]);
  expectError(badUtf8, /not valid UTF-8/);
  expectError(Buffer.concat([header({ w: t('F31', [2, 3], [0, 24]) }), data]), /tensor 'w': unknown dtype the string "F31"/);
  expectError(Buffer.concat([header({ w: t('F32', [2, 4], [0, 24]) }), data]), /tensor 'w': shape \[2, 4\] of F32 needs 32 bytes, but data_offsets \[0, 24\] span 24/);
  expectError(Buffer.concat([header({ w: t('F32', [2, -3], [0, 24]) }), data]), /tensor 'w': shape must be an array of non-negative integers/);
  expectError(Buffer.concat([header({ w: t('F32', [6], [0]) }), data]), /tensor 'w': data_offsets must be \[begin, end\]/);
  expectError(Buffer.concat([header({ w: t('F32', [6], [24, 0]) }), data]), /tensor 'w': data_offsets \[24, 0\] end before they begin/);
  expectError(Buffer.concat([header({ w: t('F32', [8], [0, 32]) }), data]), /tensor 'w' data_offsets \[0, 32\] run past the 24-byte data section \(truncated file\)/);
  expectError(Buffer.concat([header({ a: t('F32', [4], [0, 16]), b: t('F32', [4], [8, 24]) }), data]), /tensor 'b' data_offsets \[8, 24\] overlap tensor 'a' \[0, 16\]/);
  expectError(Buffer.concat([header({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [16, 24]) }), data]), /tensor 'b' data_offsets \[16, 24\] leave a hole of 8 bytes after tensor 'a'/);
  expectError(Buffer.concat([header({ a: t('F32', [2], [8, 16]) }), data.subarray(0, 16)]), /tensor 'a' .* hole of 8 bytes after the start of the data section/);
  expectError(Buffer.concat([header({ a: t('F32', [4], [0, 16]) }), data]), /8 bytes after the last tensor are not covered/);
  expectError(Buffer.concat([header({ __metadata__: { format: 1 } }), data.subarray(0, 0)]), /__metadata__ 'format' must be a string/);
  expectError(Buffer.concat([header({ w: 3 }), data]), /tensor 'w': expected an object/);
  // A real file cut short.
  const real = readFileSync(join(FIXTURES, 'gpt2-tiny/model.safetensors'));
  expectError(real.subarray(0, real.length - 100), /run past the .*-byte data section \(truncated file\)/);
  expectError(real.subarray(0, 1000), /header length 2624 runs past the end of the 1000-byte file/);
  // The same checks apply to files on disk, and name the path.
  const dir = tmp();
  const p = join(dir, 'cut.safetensors');
  writeFileSync(p, real.subarray(0, real.length - 4));
  assert.throws(() => SafetensorsFile.open(p), (e: unknown) => e instanceof GptuneError && e.message.startsWith(p + ': ') && /truncated/.test(e.message));
  assert.throws(() => SafetensorsFile.open(join(dir, 'nope.safetensors')), /nope\.safetensors: cannot open/);
  const f = SafetensorsFile.fromBytes(real, 'm.safetensors');
  assert.throws(() => f.read('transformer.nothing'), /m\.safetensors: no tensor named 'transformer\.nothing'/);
  assert.throws(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), /tensor 'w': cannot write Float32Array of length 3 as F32 with shape \[2, 2\]/);
  assert.throws(() => serializeSafetensors({ w: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }), /cannot write Float32Array of length 2 as I32/);
});

test('saveSafetensors writes atomically and a lazily opened file reads the same tensors', () => {
  const dir = tmp();
  const p = join(dir, 'model.safetensors');
  const r = rng(3);
  const a = { dtype: 'BF16' as const, shape: [64, 33], data: r.f32(64 * 33) };
  const b = { dtype: 'F32' as const, shape: [129], data: r.f32(129) };
  writeFileSync(p, 'old contents');
  saveSafetensors(p, { a, b });
  assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file left behind');
  const f = SafetensorsFile.open(p);
  try {
    assert.deepEqual(f.readFloat32('b'), b.data);
    assert.deepEqual(f.readFloat32('a'), bf16ToF32(f32ToBF16(a.data)));
    assert.equal(f.info('a').end - f.info('a').begin, 64 * 33 * 2);
  } finally {
    f.close();
  }
  // A failing write leaves the old file in place.
  assert.throws(() => saveSafetensors(p, { bad: { dtype: 'F32', shape: [5], data: new Float32Array(4) } }));
  assert.ok(SafetensorsFile.open(p).has('a'));
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
});

test('sharded checkpoints open through model.safetensors.index.json; a missing shard is named', () => {
  const dir = tmp();
  const r = rng(5);
  const t = (n: number): Tensor => ({ dtype: 'F32', shape: [n], data: r.f32(n) });
  const s1 = { 'h.0.w': t(4), 'h.0.b': t(2) }, s2 = { 'h.1.w': t(3) };
  saveSafetensors(join(dir, 'model-00001-of-00002.safetensors'), s1);
  saveSafetensors(join(dir, 'model-00002-of-00002.safetensors'), s2);
  const index = {
    metadata: { total_size: 36 },
    weight_map: { 'h.0.w': 'model-00001-of-00002.safetensors', 'h.0.b': 'model-00001-of-00002.safetensors', 'h.1.w': 'model-00002-of-00002.safetensors' },
  };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  const ck = openCheckpoint(dir);
  assert.deepEqual(ck.names(), ['h.0.b', 'h.0.w', 'h.1.w']);
  assert.deepEqual(ck.readFloat32('h.1.w'), s2['h.1.w'].data);
  assert.deepEqual(ck.readFloat32('h.0.b'), s1['h.0.b'].data);
  assert.throws(() => ck.read('h.2.w'), /no tensor named 'h\.2\.w'/);
  ck.close();

  const missing = join(dir, 'missing');
  mkdirSync(missing);
  writeFileSync(join(missing, 'model.safetensors.index.json'), JSON.stringify(index));
  assert.throws(() => openCheckpoint(missing), /model\.safetensors\.index\.json: shard 'model-00001-of-00002\.safetensors' \(holding tensor 'h\.0\.w'\) is missing/);
  const wrong = { weight_map: { ...index.weight_map, 'h.9.w': 'model-00002-of-00002.safetensors' } };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(wrong));
  assert.throws(() => openCheckpoint(dir), /weight_map puts tensor 'h\.9\.w' in 'model-00002-of-00002\.safetensors', but that shard has no such tensor/);
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": 3}');
  assert.throws(() => openCheckpoint(dir), /'weight_map': expected an object mapping tensor names to shard files, got the integer 3/);
  // A plain directory with model.safetensors, and an empty one.
  const single = openCheckpoint(join(FIXTURES, 'gpt2-tiny'));
  assert.ok(single.has('transformer.wte.weight'));
  single.close();
  assert.throws(() => openCheckpoint(tmp()), /no model\.safetensors or model\.safetensors\.index\.json/);
});

test('readFloat32Into: F32 / F16 / BF16 straight into the destination, same values as readFloat32', () => {
  const dir = tempDir('st-into-');
  const x = rng(5).f32(1001);
  const path = join(dir, 'm.safetensors');
  saveSafetensors(path, [['a', { dtype: 'F32', shape: [1001], data: x }], ['h', { dtype: 'F16', shape: [7, 143], data: x }], ['b', { dtype: 'BF16', shape: [1001], data: x }]]);
  const f = SafetensorsFile.open(path);
  try {
    let calls = 0;
    const widen = (out: Float32Array, src: Uint16Array, n: number, bf16: boolean) => {
      calls++;
      (bf16 ? bf16ToF32 : f16ToF32)(src.subarray(0, n), out as Float32Array<ArrayBuffer>);
    };
    for (const name of ['a', 'h', 'b']) {
      const out = new Float32Array(1001);
      f.readFloat32Into(name, out, widen);
      assert.deepEqual(out, f.readFloat32(name), name);
    }
    assert.equal(calls, 2, 'F32 needs no widening');
    assert.throws(() => f.readFloat32Into('a', new Float32Array(1000), widen), /m\.safetensors: tensor 'a' has 1001 elements, the destination 1000/);
  } finally {
    f.close();
  }
});

test('map: F16/BF16 bits are views of the mapped file (no copy), with the same values as reading; shards map too', () => {
  const dir = tempDir('st-map-');
  const x = rng(6).f32(999);
  const path = join(dir, 'model.safetensors');
  saveSafetensors(path, [['a', { dtype: 'F32', shape: [999], data: x }], ['h', { dtype: 'F16', shape: [9, 111], data: x }], ['b', { dtype: 'BF16', shape: [999], data: x }]]);
  const size = readFileSync(path).length;
  const plain = SafetensorsFile.open(path);
  const mapped = SafetensorsFile.open(path, { map: true });
  const widen = (out: Float32Array, src: Uint16Array, n: number, bf16: boolean) => (bf16 ? bf16ToF32 : f16ToF32)(src.subarray(0, n), out as Float32Array<ArrayBuffer>);
  try {
    for (const name of ['h', 'b']) {
      const bits = mapped.readHalfBits(name);
      const want = plain.readBytes(name);
      assert.deepEqual(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), want, name);
      // Mapped: the view's buffer is the whole file; without the addon, a copy of the tensor alone.
      assert.equal(bits.buffer.byteLength, loadAddon().addon ? size : want.length, name);
      assert.equal(plain.readHalfBits(name).buffer.byteLength, want.length, `${name} unmapped is a copy`);
    }
    for (const name of ['a', 'h', 'b']) {
      const out = new Float32Array(999);
      mapped.readFloat32Into(name, out, widen);
      assert.deepEqual(out, plain.readFloat32(name), name);
      assert.deepEqual(mapped.read(name), plain.read(name), name);
    }
    assert.throws(() => mapped.readHalfBits('a'), /model\.safetensors: tensor 'a' has dtype F32; expected F16 or BF16/);
  } finally {
    plain.close();
    mapped.close();
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model.safetensors', h: 'model.safetensors', b: 'model.safetensors' } }));
  const sharded = openCheckpoint(dir, { map: true });
  assert.equal(sharded.readHalfBits('b').buffer.byteLength, loadAddon().addon ? size : 999 * 2);
  sharded.close();
  // An empty file cannot be mapped: the reader falls back to reading, and names the file.
  writeFileSync(join(dir, 'empty.safetensors'), '');
  assert.throws(() => SafetensorsFile.open(join(dir, 'empty.safetensors'), { map: true }), /empty\.safetensors: not a safetensors file: 0 bytes/);
});
