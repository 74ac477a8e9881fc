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
  // Over a packed sequence ([1, N, ...], see withDropoutPacking), each run of tokens draws the mask of
  // its place in the padded batch, so packing changes no mask.
  const pk = forwardPacking !== null && x.rank >= 2 && x.shape[0] === 1 && x.shape[1] === forwardPacking.tokens ? forwardPacking : null;
  const per = pk ? x.size / pk.tokens : x.size;
  const offset = dropoutMaskOffset(pk ? pk.padded * per : x.size);
  const runs = pk ? pk.runs : Int32Array.of(0, 0, 1);
  const each = (f: (at: number, len: number, maskAt: number) => void) => {
    for (let r = 0; r < runs.length; r += 3) f(runs[r] * per, runs[r + 2] * per, offset + runs[r + 1] * per);
  };
  const fwd = (o: Float32Array) => each((at, len, m) => be.dropoutForward(o.subarray(at, at + len), x.data.subarray(at, at + len), len, p, s, m));
  fwd(out.data);
  out.recomputableFrom([x], fwd);
  record('dropout', out, [x], [], () => {
    const dx = x.gradBuffer(), dout = out.grad!;
    each((at, len, m) => be.dropoutBackward(dx.subarray(at, at + len), dout.subarray(at, at + len), len, p, s, m));
  });
  return out;
}

/**
 * The runs of a packed sequence's tokens that are contiguous in the padded batch, as triples
 * (packed start, padded start, length), over `tokens` packed of `padded` positions.
 */
export interface DropoutPacking { readonly tokens: number; readonly padded: number; readonly runs: Int32Array }

/** The runs of index (the padded position of each packed token, increasing). */
export function dropoutPacking(index: Int32Array, padded: number): DropoutPacking {
  const runs: number[] = [];
  for (let i = 0; i < index.length; i++) {
    if (i > 0 && index[i] === index[i - 1] + 1) runs[runs.length - 1]++;
    else runs.push(i, index[i], 1);
  }
  return { tokens: index.length, padded, runs: Int32Array.from(runs) };
}

let forwardPacking: DropoutPacking | null = null;

/** Runs fn with its [1, N, ...] activations taken as packed tokens (their masks are the padded batch's). */
export function withDropoutPacking<T>(packing: DropoutPacking | null, fn: () => T): T {
  const prev = forwardPacking;
  forwardPacking = packing;
  try {
    return fn();
  } finally {
    forwardPacking = prev;
  }
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
export interface DropoutCursor {
  readonly seed: number; readonly draws: number; readonly rows: DropoutRows;
  readonly packing?: DropoutPacking | null;
}

export function dropoutCursor(): DropoutCursor {
  return { seed: forwardSeed, draws: forwardDraws, rows: forwardRows, packing: forwardPacking };
}

/** Runs fn drawing mask seeds from cursor on (gradient checkpointing replays a block this way). */
export function withDropoutCursor<T>(cursor: DropoutCursor, fn: () => T): T {
  const prev = [forwardSeed, forwardDraws, forwardRows, forwardPacking] as const;
  [forwardSeed, forwardDraws, forwardRows, forwardPacking] = [cursor.seed, cursor.draws, cursor.rows, cursor.packing ?? null];
  try {
    return fn();
  } finally {
    [forwardSeed, forwardDraws, forwardRows, forwardPacking] = prev;
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
