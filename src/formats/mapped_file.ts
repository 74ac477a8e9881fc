// Memory-mapping a checkpoint file through the native addon (Node has no mmap): tensors kept in their
// stored dtype become views of the page cache instead of copies, as safetensors' mmap gives PyTorch.
import { loadAddon } from '../backend/native/binding.js';

export interface MappedFile {
  /** The whole file; views of it stay valid as long as they are referenced. */
  readonly buffer: ArrayBuffer;
  /** Faults [offset, offset + length) in up front (one call per tensor, so loads can show progress). */
  populate(offset: number, length: number): void;
}

/** The file mapped, or null where it cannot be (no native addon, an empty file, or mmap refused). */
export function mapFile(path: string): MappedFile | null {
  const { addon } = loadAddon();
  if (!addon) return null;
  let buffer: ArrayBuffer;
  try {
    buffer = addon.mapFile(path);
  } catch {
    return null; // the caller reads the file instead, and reports any real error with its name
  }
  return { buffer, populate: (offset, length) => addon.populateMapped(buffer, offset, length) };
}
