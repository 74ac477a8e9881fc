// Activation buffers are recycled through size classes: lengths round up to one of four classes per
// power of two (at most 19% slack), so batches whose shapes change every step (padding to the
// longest row, the fused loss over target rows) reuse the same buffers. Idle buffers are kept only
// while in-use plus idle bytes stay within the largest step's need (plus a small slack); past that
// the oldest idle buffers go back to the GC. Memory then follows the largest batch, not the number
// of distinct batches seen.

/** Idle bytes kept beyond the high-water mark of bytes in use. */
export const IDLE_SLACK_BYTES = 32 * 1024 ** 2;
/** The smallest class, in floats: tiny buffers are not worth classing finer. */
const MIN_CLASS = 64;
/** A request may take an idle buffer up to this many classes larger before a new one is made. */
const MAX_CLASS_STEP_UP = 2;

interface Idle { buf: ArrayBuffer; at: number }

/** Class index -> idle buffers, newest last. */
const free = new Map<number, Idle[]>();
/** The array handed out for each buffer in use: release() accepts exactly that array. */
const handedOut = new WeakMap<ArrayBuffer, Float32Array>();
let idleBytes = 0;
let inUseBytes = 0;
let peakInUseBytes = 0;
let clock = 0;

/** The class index of n floats: 4 classes per octave, 2^k * (1, 1.25, 1.5, 1.75). */
export function sizeClass(n: number): number {
  const m = Math.max(n, MIN_CLASS);
  let c = 4 * (Math.floor(Math.log2(m)) - 1); // at or below m's class, whatever log2's rounding
  while (classLength(c) < m) c++;
  return c;
}

/** Floats held by a buffer of class c. */
export function classLength(c: number): number {
  const k = Math.floor(c / 4), j = c % 4;
  return 2 ** k * (4 + j) / 4;
}

function take(n: number): Float32Array {
  const c = sizeClass(n);
  for (let d = 0; d <= MAX_CLASS_STEP_UP; d++) {
    const entry = free.get(c + d)?.pop();
    if (entry) {
      idleBytes -= entry.buf.byteLength;
      return handOut(entry.buf, n);
    }
  }
  const bytes = classLength(c) * 4;
  // A new buffer: first give back the oldest idle ones that would take the footprint past the bound.
  const bound = Math.max(peakInUseBytes, inUseBytes + bytes) + IDLE_SLACK_BYTES;
  while (idleBytes > 0 && inUseBytes + idleBytes + bytes > bound) evictOldest();
  return handOut(new ArrayBuffer(bytes), n);
}

function handOut(buf: ArrayBuffer, n: number): Float32Array {
  const arr = new Float32Array(buf, 0, n);
  handedOut.set(buf, arr);
  inUseBytes += buf.byteLength;
  if (inUseBytes > peakInUseBytes) peakInUseBytes = inUseBytes;
  return arr;
}

function evictOldest(): void {
  let oldest: Idle[] | null = null;
  for (const list of free.values()) if (list.length && (!oldest || list[0].at < oldest[0].at)) oldest = list;
  const entry = oldest!.shift()!;
  idleBytes -= entry.buf.byteLength;
}

/** A buffer of n floats with unspecified contents (forward kernels overwrite their outputs). */
export function allocUninit(n: number): Float32Array {
  return take(n);
}

/** A buffer of n zeros (gradients accumulate into it). */
export function allocZeros(n: number): Float32Array {
  return take(n).fill(0);
}

/** Returns a buffer for reuse; it must be an array from alloc*, never a subarray view. */
export function release(buf: Float32Array): void {
  if (handedOut.get(buf.buffer as ArrayBuffer) !== buf) {
    throw new Error('pool.release: not a buffer the pool handed out (a view, or released twice): release the tensor that owns the buffer');
  }
  const ab = buf.buffer as ArrayBuffer;
  handedOut.delete(ab);
  inUseBytes -= ab.byteLength;
  const c = sizeClass(ab.byteLength / 4);
  let list = free.get(c);
  if (!list) free.set(c, (list = []));
  list.push({ buf: ab, at: clock++ });
  idleBytes += ab.byteLength;
  // In-use bytes only moved to idle, so the bound holds unless the high-water mark was reset.
  while (inUseBytes + idleBytes > Math.max(peakInUseBytes, inUseBytes) + IDLE_SLACK_BYTES) evictOldest();
}

/** Drops every idle buffer and forgets the high-water mark (e.g. between phases with different shapes). */
export function clearPool(): void {
  free.clear();
  idleBytes = 0;
  peakInUseBytes = inUseBytes;
}

export function poolStats(): { idleBytes: number; inUseBytes: number; peakInUseBytes: number; classes: number } {
  let classes = 0;
  for (const list of free.values()) if (list.length) classes++;
  return { idleBytes, inUseBytes, peakInUseBytes, classes };
}
