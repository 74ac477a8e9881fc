// The counter-based hash behind dropout masks. Both backends compute exactly this, so a mask is a
// pure function of (seed, element index): nothing is stored between forward and backward.
// C++ twin: native/src/kernels/dropout.cc.

/** murmur3's fmix32 of (seed ^ i * golden ratio), as an unsigned 32-bit integer. */
export function dropoutHash(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Element i is kept iff its hash is at or above this threshold. */
export function dropoutThreshold(p: number): number {
  return p * 4294967296;
}
