// Reference inverted dropout. The mask is a pure function of (seed, offset + index) (dropout_hash.ts), so the
// backward recomputes it instead of storing it; the native kernel must produce the identical mask.
import type { F32 } from '../backend.js';
import { dropoutHash, dropoutThreshold } from '../dropout_hash.js';

function checkP(kernel: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${kernel}: p must be in [0, 1], got ${p}`);
}

/** out[i] = kept(i) ? x[i] / (1 - p) : 0, with the scale rounded to float32 once. */
export function dropoutForward(out: F32, x: F32, n: number, p: number, seed: number, offset: number): void {
  checkP('dropoutForward', p);
  const threshold = dropoutThreshold(p);
  const scale = Math.fround(1 / (1 - p));
  for (let i = 0; i < n; i++) out[i] = dropoutHash(seed, offset + i) >= threshold ? x[i] * scale : 0;
}

/** dx[i] += kept(i) ? dout[i] / (1 - p) : 0. */
export function dropoutBackward(dx: F32, dout: F32, n: number, p: number, seed: number, offset: number): void {
  checkP('dropoutBackward', p);
  const threshold = dropoutThreshold(p);
  const scale = Math.fround(1 / (1 - p));
  for (let i = 0; i < n; i++) if (dropoutHash(seed, offset + i) >= threshold) dx[i] += Math.fround(dout[i] * scale);
}
