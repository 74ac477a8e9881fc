// Inverted dropout whose mask is a hash of (seed, index): reproducible, and never stored.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';

export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const out = Tensor.empty(x.shape);
  const be = backend();
  const s = seed >>> 0;
  be.dropoutForward(out.data, x.data, x.size, p, s);
  out.recomputableFrom([x], (o) => be.dropoutForward(o, x.data, x.size, p, s));
  record('dropout', out, [x], [], () => be.dropoutBackward(x.gradBuffer(), out.grad!, x.size, p, s));
  return out;
}

/** The seed of the forward now running (see withDropoutSeed) and how many masks it has drawn. */
let forwardSeed = 0;
let forwardDraws = 0;

/** Runs fn (one forward) with its dropout masks derived from seed: the same seed replays the same masks. */
export function withDropoutSeed<T>(seed: number, fn: () => T): T {
  return withDropoutCursor({ seed: seed >>> 0, draws: 0 }, fn);
}

/** Where the running forward's mask seeds are: a block rerun from here draws the masks it drew the first time. */
export interface DropoutCursor { readonly seed: number; readonly draws: number }

export function dropoutCursor(): DropoutCursor {
  return { seed: forwardSeed, draws: forwardDraws };
}

/** Runs fn drawing mask seeds from cursor on (gradient checkpointing replays a block this way). */
export function withDropoutCursor<T>(cursor: DropoutCursor, fn: () => T): T {
  const prev = [forwardSeed, forwardDraws];
  [forwardSeed, forwardDraws] = [cursor.seed, cursor.draws];
  try {
    return fn();
  } finally {
    [forwardSeed, forwardDraws] = prev;
  }
}

/** The seed of the forward now running (0 outside withDropoutSeed). */
export function forwardDropoutSeed(): number {
  return forwardSeed;
}

/** A fresh mask seed for the next dropout of this forward, in call order. */
export function nextDropoutSeed(): number {
  return (Math.imul(forwardSeed, 0x9e3779b1) + ++forwardDraws * 0x85ebca6b) >>> 0;
}
