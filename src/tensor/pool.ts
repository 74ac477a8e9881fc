// Activation buffers are recycled by exact length: a training step allocates the same shapes every
// time, so after the first step nothing new is allocated and memory stays flat without waiting on GC.

const free = new Map<number, Float32Array[]>();
let pooledBytes = 0;
/** Beyond this many idle bytes, released buffers are dropped to the GC instead of kept. */
const MAX_POOLED_BYTES = 4 * 1024 ** 3;

/** A buffer of n floats with unspecified contents (forward kernels overwrite their outputs). */
export function allocUninit(n: number): Float32Array {
  const list = free.get(n);
  const buf = list?.pop();
  if (buf) {
    pooledBytes -= n * 4;
    return buf;
  }
  return new Float32Array(n);
}

/** A buffer of n zeros (gradients accumulate into it). */
export function allocZeros(n: number): Float32Array {
  const list = free.get(n);
  const buf = list?.pop();
  if (buf) {
    pooledBytes -= n * 4;
    buf.fill(0);
    return buf;
  }
  return new Float32Array(n);
}

/** Returns a buffer for reuse; it must be a whole buffer from alloc*, never a subarray view. */
export function release(buf: Float32Array): void {
  if (buf.byteOffset !== 0 || buf.byteLength !== buf.buffer.byteLength) {
    throw new Error('pool.release: a view cannot be released (release the tensor that owns the buffer)');
  }
  if (pooledBytes + buf.byteLength > MAX_POOLED_BYTES) return;
  let list = free.get(buf.length);
  if (!list) free.set(buf.length, (list = []));
  list.push(buf);
  pooledBytes += buf.byteLength;
}

/** Drops every idle buffer (e.g. between phases with different shapes). */
export function clearPool(): void {
  free.clear();
  pooledBytes = 0;
}

export function poolStats(): { idleBytes: number; sizes: number } {
  return { idleBytes: pooledBytes, sizes: free.size };
}
