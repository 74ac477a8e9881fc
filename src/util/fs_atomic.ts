// Writes a file so that readers see either the old file or the complete new one, never a torn
// checkpoint: write to a temporary name beside it, fsync, then rename over the target.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Calls write(fd) on a temporary file next to path, then atomically renames it to path. */
export function writeFileAtomic(path: string, write: (fd: number) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  let fd = openSync(tmp, 'w');
  try {
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  syncPath(dirname(path));
}

/** writeFileAtomic for data already in memory. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  writeFileAtomic(path, (fd) => writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
}

/** writeSync until every byte is written (writeSync may write fewer than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.byteLength;) off += writeSync(fd, data, off, data.byteLength - off);
}

/** fsyncs a file or folder (a folder: makes renames in it durable); some file systems refuse it on folders, which is harmless. */
export function syncPath(path: string): void {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch { /* best effort */ } finally {
    if (fd >= 0) closeSync(fd);
  }
}
