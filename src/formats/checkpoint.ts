// Opens a Hugging Face checkpoint whether it is one model.safetensors or shards listed by
// model.safetensors.index.json, behind one interface that reads tensors by name on demand.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SafetensorsFile, type HalfWidener, type Tensor, type TensorInfo } from './safetensors.js';
import { GptuneError, describe, errorMessage } from '../util/errors.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Named tensors read on demand, from one file or several shards. */
export interface TensorSource {
  /** Where the tensors come from (a file or an index), for messages. */
  readonly path: string;
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  read(name: string): Tensor;
  readFloat32(name: string): Float32Array;
  /** The tensor as float32, read straight into out (its length must match). */
  readFloat32Into(name: string, out: Float32Array, widen: HalfWidener): void;
  /** The raw little-endian bytes, in a fresh buffer. */
  readBytes(name: string): Uint8Array;
  /** An F16/BF16 tensor's bits as stored: a read-only view of the mapped file when opened with map. */
  readHalfBits(name: string): Uint16Array;
  close(): void;
}

/**
 * Opens a checkpoint: a directory (its model.safetensors.index.json if present, else model.safetensors),
 * an index .json file, or a single .safetensors file. map: memory-map the files (SafetensorsFile.open).
 */
export function openCheckpoint(path: string, opts: { map?: boolean } = {}): TensorSource {
  if (!existsSync(path)) throw new GptuneError('no such file or directory', { file: path });
  if (statSync(path).isDirectory()) {
    const index = join(path, INDEX_FILE);
    if (existsSync(index)) return ShardedCheckpoint.open(index, opts);
    const single = join(path, SINGLE_FILE);
    if (existsSync(single)) return SafetensorsFile.open(single, opts);
    throw new GptuneError(`no ${SINGLE_FILE} or ${INDEX_FILE} in this directory`, { file: path });
  }
  if (path.endsWith('.json')) return ShardedCheckpoint.open(path, opts);
  return SafetensorsFile.open(path, opts);
}

/** A checkpoint split over shards; the index's weight_map says which shard holds each tensor. */
export class ShardedCheckpoint implements TensorSource {
  private constructor(
    readonly path: string,
    readonly metadata: Record<string, unknown>,
    private readonly weightMap: Map<string, string>,
    private readonly shards: Map<string, SafetensorsFile>,
  ) {}

  static open(indexPath: string, opts: { map?: boolean } = {}): ShardedCheckpoint {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(indexPath, 'utf8'));
    } catch (e) {
      throw new GptuneError(`cannot read the shard index: ${errorMessage(e)}`, { file: indexPath });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new GptuneError(`expected a JSON object, got ${describe(json)}`, { file: indexPath });
    const wm = (json as Record<string, unknown>).weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
      throw new GptuneError(`expected an object mapping tensor names to shard files, got ${describe(wm)}`, { file: indexPath, key: 'weight_map' });
    }
    const weightMap = new Map<string, string>();
    for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) {
        throw new GptuneError(`shard for tensor '${name}' must be a file name, got ${describe(shard)}`, { file: indexPath, key: 'weight_map' });
      }
      weightMap.set(name, shard);
    }
    const meta = (json as Record<string, unknown>).metadata;
    const metadata = typeof meta === 'object' && meta !== null ? meta as Record<string, unknown> : {};

    const shards = new Map<string, SafetensorsFile>();
    const dir = dirname(indexPath);
    try {
      for (const [name, shard] of weightMap) {
        if (shards.has(shard)) continue;
        const p = join(dir, shard);
        if (!existsSync(p)) throw new GptuneError(`shard '${shard}' (holding tensor '${name}') is missing`, { file: indexPath });
        shards.set(shard, SafetensorsFile.open(p, opts));
      }
      for (const [name, shard] of weightMap) {
        if (!shards.get(shard)!.has(name)) throw new GptuneError(`weight_map puts tensor '${name}' in '${shard}', but that shard has no such tensor`, { file: indexPath });
      }
    } catch (e) {
      for (const f of shards.values()) f.close();
      throw e;
    }
    return new ShardedCheckpoint(indexPath, metadata, weightMap, shards);
  }

  names(): string[] {
    return [...this.weightMap.keys()].sort();
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  private shard(name: string): SafetensorsFile {
    const s = this.weightMap.get(name);
    if (s === undefined) throw new GptuneError(`no tensor named '${name}' in weight_map`, { file: this.path });
    return this.shards.get(s)!;
  }

  info(name: string): TensorInfo { return this.shard(name).info(name); }
  read(name: string): Tensor { return this.shard(name).read(name); }
  readFloat32(name: string): Float32Array { return this.shard(name).readFloat32(name); }
  readFloat32Into(name: string, out: Float32Array, widen: HalfWidener): void { this.shard(name).readFloat32Into(name, out, widen); }
  readBytes(name: string): Uint8Array { return this.shard(name).readBytes(name); }
  readHalfBits(name: string): Uint16Array { return this.shard(name).readHalfBits(name); }

  close(): void {
    for (const f of this.shards.values()) f.close();
  }
}
