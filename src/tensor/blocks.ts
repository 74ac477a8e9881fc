// A model's trunk as the engine runs it: each block is a forwardBlock (what no backward reads is
// freed when it ends), optionally checkpointed, and the forward's dropout seed is in scope, so model
// files only list blocks.
import { forwardBlock } from './tape.js';
import { dropoutCursor, withDropoutCursor, withDropoutPacking, withDropoutSeed, type DropoutPacking, type DropoutRows } from './ops/dropout.js';
import { checkpoint } from './ops/checkpoint.js';
import type { Tensor } from './tensor.js';

/** The forward options runBlocks reads (models/causal_lm.ts ForwardOptions). */
export interface BlockRunOptions {
  /** Seeds every dropout mask inside; undefined keeps the outer seed. */
  dropoutSeed?: number;
  /** This batch's rows in a larger one (an MPI rank's shard): masks are the larger batch's. */
  dropoutRows?: DropoutRows;
  /** Keep only each block's input and recompute the block during backward. */
  gradientCheckpointing?: boolean;
  /** The blocks run on packed tokens [1, N, C] (padding taken out): their dropout masks are the padded batch's. */
  dropoutPacking?: DropoutPacking | null;
}

/**
 * embed(), then step(block, x) for each block on the previous output: x [B, T, C] throughout.
 * A checkpointed block replays its dropout masks from the cursor it started at, so its recomputed
 * forward, and so every gradient, equals the recorded one bit for bit.
 */
export function runBlocks<Block extends { parameters(): Tensor[] }>(opts: BlockRunOptions, embed: () => Tensor, blocks: readonly Block[],
  step: (block: Block, x: Tensor) => Tensor): Tensor {
  const run = () => {
    let x = forwardBlock(embed);
    for (const block of blocks) {
      const input = x;
      if (opts.gradientCheckpointing) {
        // The first run draws masks as usual (advancing the forward's cursor); backward's rerun replays them.
        const cursor = dropoutCursor();
        let runs = 0;
        const fn = (h: Tensor) => (runs++ === 0 ? step(block, h) : withDropoutCursor(cursor, () => step(block, h)));
        x = forwardBlock(() => checkpoint(fn, input, block.parameters()));
      } else x = forwardBlock(() => step(block, input));
    }
    return x;
  };
  const packed = () => withDropoutPacking(opts.dropoutPacking ?? null, run);
  return opts.dropoutSeed === undefined ? packed() : withDropoutSeed(opts.dropoutSeed, packed, opts.dropoutRows);
}
