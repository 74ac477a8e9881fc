// Inverted dropout whose mask is a hash of (seed, index): reproducible, and never stored.
import { backend } from '../../backend/select.js';
import { Tensor } from '../tensor.js';
import { record } from '../tape.js';

export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const out = Tensor.empty(x.shape);
  const be = backend();
  const s = seed >>> 0, offset = dropoutMaskOffset(x.size);
  be.dropoutForward(out.data, x.data, x.size, p, s, offset);
  out.recomputableFrom([x], (o) => be.dropoutForward(o, x.data, x.size, p, s, offset));
  record('dropout', out, [x], [], () => be.dropoutBackward(x.gradBuffer(), out.grad!, x.size, p, s, offset));
  return out;
}

/** The seed of the forward now running (see withDropoutSeed) and how many masks it has drawn. */
let forwardSeed = 0;
let forwardDraws = 0;
/** This forward's rows within the whole batch (an MPI rank's shard): masks are the whole batch's at those rows. */
let forwardRows: DropoutRows = { first: 0, count: 0 };

/** Rows first..first+count-1 of a larger batch; count 0: the forward is the whole batch. */
export interface DropoutRows { readonly first: number; readonly count: number }

/** Runs fn (one forward) with its dropout masks derived from seed: the same seed replays the same masks. */
export function withDropoutSeed<T>(seed: number, fn: () => T, rows: DropoutRows = { first: 0, count: 0 }): T {
  return withDropoutCursor({ seed: seed >>> 0, draws: 0, rows }, fn);
}

/** Where the running forward's mask seeds are: a block rerun from here draws the masks it drew the first time. */
export interface DropoutCursor { readonly seed: number; readonly draws: number; readonly rows: DropoutRows }

export function dropoutCursor(): DropoutCursor {
  return { seed: forwardSeed, draws: forwardDraws, rows: forwardRows };
}

/** Runs fn drawing mask seeds from cursor on (gradient checkpointing replays a block this way). */
export function withDropoutCursor<T>(cursor: DropoutCursor, fn: () => T): T {
  const prev = [forwardSeed, forwardDraws, forwardRows] as const;
  [forwardSeed, forwardDraws, forwardRows] = [cursor.seed, cursor.draws, cursor.rows];
  try {
    return fn();
  } finally {
    [forwardSeed, forwardDraws, forwardRows] = prev;
  }
}

/**
 * The mask index of element 0 of an n-element batch-major activation ([rows, ...]) of this forward: its
 * first row's place in the whole batch, so a rank's masks are the rows of the one-process mask.
 */
export function dropoutMaskOffset(n: number): number {
  const { first, count } = forwardRows;
  if (first === 0) return 0;
  if (n % count !== 0) throw new Error(`dropout: an activation of ${n} elements is not batch-major over this forward's ${count} rows`);
  return first * (n / count);
}

/** The seed of the forward now running (0 outside withDropoutSeed). */
export function forwardDropoutSeed(): number {
  return forwardSeed;
}

/** A fresh mask seed for the next dropout of this forward, in call order. */
export function nextDropoutSeed(): number {
  return (Math.imul(forwardSeed, 0x9e3779b1) + ++forwardDraws * 0x85ebca6b) >>> 0;
}
