// safetensors: the checkpoint format of Hugging Face models. The reader parses and checks the header,
// then reads each tensor on demand at its offset (so a bf16 model converts tensor by tensor and peak
// memory stays near its f32 size), or, opened with `map`, hands out views of the memory-mapped file;
// the writer reproduces Python's safetensors byte for byte.
//
// Layout: u64 little-endian N | N bytes of JSON header, space-padded | data. The header maps each
// tensor name to {dtype, shape, data_offsets: [begin, end]} (relative to the data section), plus an
// optional "__metadata__" of string -> string. The tensors must cover the data section exactly.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  type DType, assertLittleEndian, bf16ToF32, dtypeBits, dtypeOrder, f16ToF32, f32ToBF16, f32ToF16,
  i32ToI64Words, i64ToI32, isDType,
} from './dtype.js';
import { GptuneError, describe, errorMessage, shapeStr } from '../util/errors.js';
import { writeAll, writeFileAtomic } from '../util/fs_atomic.js';
import { mapFile } from './mapped_file.js';

/** Safetensors' own limit on the header size (safetensors/src/tensor.rs MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;

export type TensorArray =
  | Float32Array | Float64Array | Int32Array | BigInt64Array | BigUint64Array
  | Uint8Array | Int8Array | Int16Array | Uint16Array | Uint32Array;

/** A tensor in memory. F16/BF16 tensors are held as Float32Array (converted on read, back on write). */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorArray;
}

/** One header entry; begin/end are byte offsets into the data section. */
export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

// Where the bytes come from: a file read with positioned reads, a memory-mapped file, or a buffer
// (tests, small files). `view` gives the bytes in place (faulted in) where the source has them so.
interface ByteSource {
  readonly size: number;
  read(position: number, into: Uint8Array): void;
  view?(position: number, length: number): Uint8Array;
  close(): void;
}

function mappedSource(path: string): ByteSource | null {
  const m = mapFile(path);
  if (!m) return null;
  const size = m.buffer.byteLength;
  return {
    size,
    read(position, into) { into.set(this.view!(position, into.length)); },
    view(position, length) {
      if (position + length > size) throw new GptuneError(`file is truncated: wanted ${length} bytes at offset ${position}`, { file: path });
      m.populate(position, length);
      return new Uint8Array(m.buffer, position, length);
    },
    close() {}, // the mapping lives as long as views of it do; collected with the last one
  };
}

function fileSource(path: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new GptuneError(`cannot open: ${errorMessage(e)}`, { file: path });
  }
  const size = fstatSync(fd).size;
  return {
    size,
    read(position, into) {
      let done = 0;
      while (done < into.length) {
        // readSync moves at most ~2 GiB per call; loop for larger tensors and short reads.
        const n = readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
        if (n === 0) throw new GptuneError(`file is truncated: wanted ${into.length} bytes at offset ${position}`, { file: path });
        done += n;
      }
    },
    close() { if (fd >= 0) closeSync(fd); fd = -1; },
  };
}

function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(position, into) { into.set(bytes.subarray(position, position + into.length)); },
    close() {},
  };
}

/** A parsed safetensors file whose tensors are read on demand. close() when done. */
export class SafetensorsFile {
  readonly metadata: Record<string, string> | null;
  /** Header entries in data-offset order. */
  readonly tensors: readonly TensorInfo[];
  private readonly byName: Map<string, TensorInfo>;
  private readonly dataStart: number;

  private constructor(readonly path: string, private readonly src: ByteSource) {
    assertLittleEndian();
    try {
      const h = parseHeader(path, src);
      this.metadata = h.metadata;
      this.tensors = h.tensors;
      this.dataStart = h.dataStart;
      this.byName = new Map(h.tensors.map((t) => [t.name, t]));
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /**
   * Opens a file. With map, the file is memory-mapped (where the native addon can) and readHalfBits
   * returns views of it, not copies: for weights kept frozen in their stored dtype.
   */
  static open(path: string, { map = false } = {}): SafetensorsFile {
    return new SafetensorsFile(path, (map ? mappedSource(path) : null) ?? fileSource(path));
  }

  /** Parses a whole file already in memory; name is used in error messages. */
  static fromBytes(bytes: Uint8Array, name = '<buffer>'): SafetensorsFile {
    return new SafetensorsFile(name, bufferSource(bytes));
  }

  names(): string[] {
    return this.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new GptuneError(`no tensor named '${name}' (the file has ${this.tensors.length})`, { file: this.path });
    return t;
  }

  /** The tensor's raw little-endian bytes, in a fresh (hence aligned) buffer. */
  readBytes(name: string): Uint8Array {
    const t = this.info(name);
    const out = new Uint8Array(t.end - t.begin);
    this.src.read(this.dataStart + t.begin, out);
    return out;
  }

  /**
   * An F16/BF16 tensor's 16-bit patterns: a view of the mapped file when the file was opened with
   * map (no copy; private to this process, to be treated as read-only), else a fresh array.
   */
  readHalfBits(name: string): Uint16Array {
    const t = this.info(name);
    if (t.dtype !== 'F16' && t.dtype !== 'BF16') throw new GptuneError(`tensor '${name}' has dtype ${t.dtype}; expected F16 or BF16`, { file: this.path });
    const bytes = this.halfView(t) ?? this.readBytes(name);
    return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  }

  /** The tensor's bytes in place in a mapped file, when the source maps it and they are 2-byte aligned. */
  private halfView(t: TensorInfo): Uint8Array | null {
    const at = this.dataStart + t.begin;
    return this.src.view && at % 2 === 0 ? this.src.view(at, t.end - t.begin) : null;
  }

  /**
   * The tensor in its natural JS array: F32/F16/BF16 -> Float32Array, F64 -> Float64Array,
   * I64 -> Int32Array when every value fits, else BigInt64Array; other integers -> their typed array.
   */
  read(name: string): Tensor {
    const t = this.info(name);
    const bytes = this.readBytes(name);
    const n = elementCount(t.shape);
    const shape = [...t.shape];
    const buf = bytes.buffer;
    switch (t.dtype) {
      case 'F32': return { dtype: 'F32', shape, data: new Float32Array(buf, 0, n) };
      case 'F16': return { dtype: 'F16', shape, data: f16ToF32(new Uint16Array(buf, 0, n)) };
      case 'BF16': return { dtype: 'BF16', shape, data: bf16ToF32(new Uint16Array(buf, 0, n)) };
      case 'F64': return { dtype: 'F64', shape, data: new Float64Array(buf, 0, n) };
      case 'I64': return { dtype: 'I64', shape, data: i64ToI32(new Int32Array(buf, 0, 2 * n)) ?? new BigInt64Array(buf, 0, n) };
      case 'U64': return { dtype: 'U64', shape, data: new BigUint64Array(buf, 0, n) };
      case 'I32': return { dtype: 'I32', shape, data: new Int32Array(buf, 0, n) };
      case 'U32': return { dtype: 'U32', shape, data: new Uint32Array(buf, 0, n) };
      case 'I16': return { dtype: 'I16', shape, data: new Int16Array(buf, 0, n) };
      case 'U16': return { dtype: 'U16', shape, data: new Uint16Array(buf, 0, n) };
      case 'I8': return { dtype: 'I8', shape, data: new Int8Array(buf, 0, n) };
      case 'U8': case 'BOOL': return { dtype: t.dtype, shape, data: bytes };
      default:
        throw new GptuneError(`tensor '${name}' has dtype ${t.dtype}, which gptune cannot convert`, { file: this.path });
    }
  }

  /** The tensor as float32 (from F32, F16, BF16 or F64); anything else is an error naming the tensor. */
  readFloat32(name: string): Float32Array {
    const t = this.info(name);
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && t.dtype !== 'F64') {
      throw new GptuneError(`tensor '${name}' has dtype ${t.dtype}; expected a float dtype (F32, F16, BF16, F64)`, { file: this.path });
    }
    const data = this.read(name).data;
    return data instanceof Float32Array ? data : Float32Array.from(data as Float64Array);
  }

  /**
   * Reads a float tensor straight into `out` (no whole-tensor copy): F32 bytes land in out's memory;
   * F16/BF16 go through a bounded scratch buffer in chunks, widened by `widen` (a threaded kernel).
   */
  readFloat32Into(name: string, out: Float32Array, widen: HalfWidener): void {
    const t = this.info(name);
    const n = elementCount(t.shape);
    if (out.length !== n) throw new GptuneError(`tensor '${name}' has ${n} elements, the destination ${out.length}`, { file: this.path });
    const at = this.dataStart + t.begin;
    if (t.dtype === 'F32') return this.src.read(at, new Uint8Array(out.buffer, out.byteOffset, n * 4));
    if (t.dtype !== 'F16' && t.dtype !== 'BF16') return void out.set(this.readFloat32(name));
    const view = this.halfView(t);
    if (view) return widen(out, new Uint16Array(view.buffer, view.byteOffset, n), n, t.dtype === 'BF16');
    const chunk = Math.min(n, 1 << 23); // 16 MB of scratch at most
    const scratch = new Uint16Array(chunk);
    for (let i = 0; i < n; i += chunk) {
      const m = Math.min(chunk, n - i);
      this.src.read(at + i * 2, new Uint8Array(scratch.buffer, 0, m * 2));
      widen(out.subarray(i, i + m), scratch, m, t.dtype === 'BF16');
    }
  }

  close(): void {
    this.src.close();
  }
}

/** out[i] = src[i] widened from f16 (bf16 false) or bf16 bits, for i < n: a Backend's halfToF32. */
export type HalfWidener = (out: Float32Array, src: Uint16Array, n: number, bf16: boolean) => void;

/** Reads every tensor of a file into memory (for small files: fixtures, adapters). */
export function loadSafetensors(path: string): { metadata: Record<string, string> | null; tensors: Map<string, Tensor> } {
  const f = SafetensorsFile.open(path);
  try {
    return { metadata: f.metadata, tensors: new Map(f.names().map((n) => [n, f.read(n)])) };
  } finally {
    f.close();
  }
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---- header parsing and validation ----

function parseHeader(file: string, src: ByteSource): { metadata: Record<string, string> | null; tensors: TensorInfo[]; dataStart: number } {
  const fail = (msg: string): never => { throw new GptuneError(msg, { file }); };
  if (src.size < 8) fail(`not a safetensors file: ${src.size} bytes is too small for the 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  src.read(0, lenBytes);
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} is absurd (over ${MAX_HEADER_BYTES} bytes): not a safetensors file, or corrupt`);
  if (8 + headerLen > src.size) fail(`header length ${headerLen} runs past the end of the ${src.size}-byte file (truncated or not safetensors)`);

  const raw = new Uint8Array(headerLen);
  src.read(8, raw);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header does not start with '{' (starts with ${JSON.stringify(text.slice(0, 16))})`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${errorMessage(e)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail(`header must be a JSON object, got ${describe(json)}`);

  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`__metadata__ must be an object of strings, got ${describe(v)}`);
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(`__metadata__ '${k}' must be a string, got ${describe(s)}`);
      }
      metadata = v as Record<string, string>;
      continue;
    }
    tensors.push(parseEntry(file, name, v));
  }

  // The tensors must tile the data section exactly: no overlap, no hole, nothing after the last one.
  const dataStart = 8 + headerLen;
  const dataSize = src.size - dataStart;
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: TensorInfo | null = null;
  for (const t of tensors) {
    if (t.begin < pos) fail(`tensor '${t.name}' data_offsets [${t.begin}, ${t.end}] overlap tensor '${prev!.name}' [${prev!.begin}, ${prev!.end}]`);
    if (t.begin > pos) {
      fail(`tensor '${t.name}' data_offsets [${t.begin}, ${t.end}] leave a hole of ${t.begin - pos} bytes after ` +
        (prev ? `tensor '${prev.name}' (ends at ${pos})` : 'the start of the data section'));
    }
    if (t.end > dataSize) fail(`tensor '${t.name}' data_offsets [${t.begin}, ${t.end}] run past the ${dataSize}-byte data section (truncated file)`);
    pos = t.end;
    prev = t;
  }
  if (pos !== dataSize) fail(`${dataSize - pos} bytes after the last tensor are not covered by any tensor (data section is ${dataSize} bytes)`);
  return { metadata, tensors, dataStart };
}

function parseEntry(file: string, name: string, v: unknown): TensorInfo {
  const fail = (msg: string): never => { throw new GptuneError(`tensor '${name}': ${msg}`, { file }); };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`expected an object {dtype, shape, data_offsets}, got ${describe(v)}`);
  const e = v as Record<string, unknown>;
  if (!isDType(e.dtype)) return fail(`unknown dtype ${describe(e.dtype)}`);
  const dtype = e.dtype;
  const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(e.shape) || !e.shape.every(isIndex)) return fail(`shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
  const shape = e.shape as number[];
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isIndex)) return fail(`data_offsets must be [begin, end] integers, got ${JSON.stringify(off)}`);
  const [begin, end] = off as number[];
  if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`);
  const bits = elementCount(shape) * dtypeBits(dtype);
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) fail(`shape ${shapeStr(shape)} of ${dtype} is not a whole number of bytes`);
  if (bits / 8 !== end - begin) {
    fail(`shape ${shapeStr(shape)} of ${dtype} needs ${bits / 8} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape, begin, end };
}

// ---- writer ----

/**
 * The file's bytes as a list of chunks: header, then each tensor's data. Tensors are ordered like
 * safetensors' Rust `prepare()`: descending dtype (alignment) order, then name by bytes.
 * metadata null omits "__metadata__" (safetensors.save_file(metadata=None)).
 */
export function serializeSafetensors(tensors: Iterable<[string, Tensor]> | Record<string, Tensor>,
  metadata: Record<string, string> | null = { format: 'pt' }): Uint8Array[] {
  assertLittleEndian();
  const list = Symbol.iterator in tensors ? [...(tensors as Iterable<[string, Tensor]>)] : Object.entries(tensors);
  const named = list.map(([name, t]) => ({ name, key: Buffer.from(name, 'utf8'), t }));
  named.sort((a, b) => dtypeOrder(b.t.dtype) - dtypeOrder(a.t.dtype) || Buffer.compare(a.key, b.key));

  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const { name, t } of named) {
    if (seen.has(name)) throw new GptuneError(`tensor '${name}' is given twice`);
    seen.add(name);
    const bytes = tensorBytes(name, t);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes.length}]}`);
    blobs.push(bytes);
    offset += bytes.length;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (header.length % 8)) % 8;
  if (pad) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(header.length), true);
  return [len, header, ...blobs];
}

/** Writes a safetensors file atomically (temporary name, then rename). */
export function saveSafetensors(path: string, tensors: Iterable<[string, Tensor]> | Record<string, Tensor>,
  metadata: Record<string, string> | null = { format: 'pt' }): void {
  const chunks = serializeSafetensors(tensors, metadata);
  writeFileAtomic(path, (fd) => { for (const c of chunks) writeAll(fd, c); });
}

/** A tensor's little-endian bytes in its declared dtype, converting float32 to F16/BF16 (RNE) when asked. */
function tensorBytes(name: string, t: Tensor): Uint8Array {
  const n = elementCount(t.shape);
  const d = t.data;
  const fail = (): never => {
    throw new GptuneError(`tensor '${name}': cannot write ${d.constructor.name} of length ${d.length} as ${t.dtype} with shape ${shapeStr(t.shape)}`);
  };
  if (!t.shape.every((x) => Number.isSafeInteger(x) && x >= 0)) fail();
  if (d.length !== n) fail();
  const bytesOf = (a: TensorArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (t.dtype) {
    case 'F32': return d instanceof Float32Array ? bytesOf(d) : d instanceof Float64Array ? bytesOf(Float32Array.from(d)) : fail();
    case 'F64': return d instanceof Float64Array ? bytesOf(d) : d instanceof Float32Array ? bytesOf(Float64Array.from(d)) : fail();
    case 'F16': return d instanceof Float32Array ? bytesOf(f32ToF16(d)) : d instanceof Uint16Array ? bytesOf(d) : fail();
    case 'BF16': return d instanceof Float32Array ? bytesOf(f32ToBF16(d)) : d instanceof Uint16Array ? bytesOf(d) : fail();
    case 'I64': return d instanceof BigInt64Array ? bytesOf(d) : d instanceof Int32Array ? bytesOf(i32ToI64Words(d)) : fail();
    case 'U64': return d instanceof BigUint64Array ? bytesOf(d) : fail();
    case 'I32': return d instanceof Int32Array ? bytesOf(d) : fail();
    case 'U32': return d instanceof Uint32Array ? bytesOf(d) : fail();
    case 'I16': return d instanceof Int16Array ? bytesOf(d) : fail();
    case 'U16': return d instanceof Uint16Array ? bytesOf(d) : fail();
    case 'I8': return d instanceof Int8Array ? bytesOf(d) : fail();
    case 'U8': case 'BOOL': return d instanceof Uint8Array ? bytesOf(d) : fail();
    default: return fail();
  }
}
