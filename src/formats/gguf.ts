// GGUF v3, the file format of llama.cpp / ggml, written from its spec (llama.cpp docs/gguf.md):
// header, typed metadata key-values, tensor infos, then the aligned tensor data. Bytes only: no
// model knowledge lives here (the export maps names and layouts).
import { f32ToBF16, f32ToF16 } from './dtype.js';
import { quantize, quantizeQ4_0, quantizeQ8_0, type QuantType } from './ggml_quant.js';

export { quantizeQ8_0, quantizeQ4_0 };
import { writeAll, writeFileAtomic } from '../util/fs_atomic.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf_type), numbered as in the spec. */
export const GGUF_VALUE_TYPE = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, 'array'>;

export type GgufValue =
  | { type: Exclude<GgufScalarType, 'string' | 'bool' | 'u64' | 'i64'>; value: number }
  | { type: 'u64' | 'i64'; value: number | bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: GgufScalarType; value: ReadonlyArray<number | bigint | boolean | string> };

/** Tensor types gptune writes, with ggml's type numbers and block sizes (elements, bytes). */
export const GGML_TYPE = {
  F32: { id: 0, blockElems: 1, blockBytes: 4 },
  F16: { id: 1, blockElems: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockElems: 32, blockBytes: 18 },
  Q8_0: { id: 8, blockElems: 32, blockBytes: 34 },
  BF16: { id: 30, blockElems: 1, blockBytes: 2 },
} as const;
export type GgmlType = keyof typeof GGML_TYPE;

export interface GgufTensor {
  name: string;
  /** Row-major shape, outermost first (PyTorch's order); the file stores it reversed (ggml's ne). */
  shape: readonly number[];
  type: GgmlType;
  /** The tensor's f32 values, asked for only when it is written (so one tensor is converted at a time). */
  data: () => Float32Array;
}

export interface GgufFile {
  metadata: Array<[string, GgufValue]>;
  tensors: GgufTensor[];
}

/** Bytes of a tensor of this type and shape; throws when rows do not split into whole blocks. */
export function ggmlTensorBytes(name: string, shape: readonly number[], type: GgmlType): number {
  const t = GGML_TYPE[type];
  const rowLen = shape.length ? shape[shape.length - 1] : 1;
  if (rowLen % t.blockElems !== 0) throw new Error(`GGUF tensor '${name}': ${type} needs rows of a multiple of ${t.blockElems} values, the row has ${rowLen}`);
  const n = shape.reduce((a, b) => a * b, 1);
  return (n / t.blockElems) * t.blockBytes;
}

/** f32 values -> ggml blocks; the writer's caller may pass a faster one with the same bytes (a Backend's quantizeGgml). */
export type GgmlQuantizer = (type: QuantType, data: Float32Array) => Uint8Array;

/** f32 values -> the bytes of a ggml tensor of the given type (little-endian). */
export function encodeTensor(data: Float32Array, type: GgmlType, quantizer: GgmlQuantizer = quantize): Uint8Array {
  switch (type) {
    case 'F32': return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'F16': { const h = f32ToF16(data); return new Uint8Array(h.buffer, h.byteOffset, h.byteLength); }
    case 'BF16': { const h = f32ToBF16(data); return new Uint8Array(h.buffer, h.byteOffset, h.byteLength); }
    case 'Q8_0': case 'Q4_0': return quantizer(type, data);
  }
}

/** Appends little-endian primitives to a growing buffer (the header is small; tensor data is streamed). */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: number | bigint): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  i64(v: number | bigint): void { this.reserve(8); this.view.setBigInt64(this.length, BigInt(v), true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  /** gguf_string: a uint64 byte count, then UTF-8 without a terminator. */
  string(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  padTo(alignment: number): void { while (this.length % alignment) this.u8(0); }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeScalar(sink: ByteSink, type: GgufScalarType, v: number | bigint | boolean | string, key: string): void {
  const bad = () => new Error(`GGUF metadata '${key}': ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is not a ${type}`);
  if (type === 'string') { if (typeof v !== 'string') throw bad(); sink.string(v); return; }
  if (type === 'bool') { if (typeof v !== 'boolean') throw bad(); sink.u8(v ? 1 : 0); return; }
  if (type === 'u64' || type === 'i64') {
    if (typeof v !== 'bigint' && !Number.isInteger(v)) throw bad();
    sink[type](v as number | bigint);
    return;
  }
  if (typeof v !== 'number') throw bad();
  if (type !== 'f32' && type !== 'f64' && !Number.isInteger(v)) throw bad();
  sink[type](v);
}

/** The header, metadata and tensor infos, padded to the alignment: everything before the tensor data. */
export function encodeGgufHeader(file: GgufFile): { header: Uint8Array; offsets: number[]; sizes: number[]; alignment: number } {
  const alignEntry = file.metadata.find(([k]) => k === 'general.alignment');
  const alignment = alignEntry ? Number(alignEntry[1].value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) throw new Error(`GGUF metadata 'general.alignment': ${alignment} is not a positive multiple of 8`);
  const seen = new Set<string>();
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(file.tensors.length);
  sink.u64(file.metadata.length);
  for (const [key, val] of file.metadata) {
    if (seen.has(key)) throw new Error(`GGUF metadata '${key}' is given twice`);
    seen.add(key);
    sink.string(key);
    sink.u32(GGUF_VALUE_TYPE[val.type]);
    if (val.type === 'array') {
      sink.u32(GGUF_VALUE_TYPE[val.itemType]);
      sink.u64(val.value.length);
      for (const item of val.value) writeScalar(sink, val.itemType, item, key);
    } else {
      writeScalar(sink, val.type, val.value, key);
    }
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of file.tensors) {
    if (names.has(t.name)) throw new Error(`GGUF tensor '${t.name}' is given twice`);
    names.add(t.name);
    const size = ggmlTensorBytes(t.name, t.shape, t.type);
    sink.string(t.name);
    sink.u32(t.shape.length);
    for (let i = t.shape.length - 1; i >= 0; i--) sink.u64(t.shape[i]); // ne[0] is the innermost dimension
    sink.u32(GGML_TYPE[t.type].id);
    sink.u64(offset);
    offsets.push(offset);
    sizes.push(size);
    offset += Math.ceil(size / alignment) * alignment;
  }
  sink.padTo(alignment);
  return { header: sink.result(), offsets, sizes, alignment };
}

/** Writes a GGUF file to a temporary name beside path and renames it into place. */
export function writeGguf(path: string, file: GgufFile, quantizer?: GgmlQuantizer): void {
  const { header, sizes, alignment } = encodeGgufHeader(file);
  writeFileAtomic(path, (fd) => {
    writeAll(fd, header);
    file.tensors.forEach((t, i) => {
      const data = t.data();
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) throw new Error(`GGUF tensor '${t.name}': ${data.length} values for shape [${t.shape.join(', ')}]`);
      const bytes = encodeTensor(data, t.type, quantizer);
      writeAll(fd, bytes);
      const pad = (alignment - (sizes[i] % alignment)) % alignment;
      if (pad) writeAll(fd, new Uint8Array(pad));
    });
  });
}
