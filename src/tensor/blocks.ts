// A model's trunk as the engine runs it: each block is a forwardBlock (what no backward reads is
// freed when it ends) and the forward's dropout seed is in scope, so model files only list blocks.
import { forwardBlock } from './tape.js';
import { withDropoutSeed } from './ops/dropout.js';
import type { Tensor } from './tensor.js';

/**
 * embed(), then step(block, x) for each block on the previous output: x [B, T, C] throughout.
 * seed (the forward options' dropoutSeed) seeds every dropout mask inside; undefined keeps the outer one.
 */
export function runBlocks<Block>(seed: number | undefined, embed: () => Tensor, blocks: readonly Block[],
  step: (block: Block, x: Tensor) => Tensor): Tensor {
  const run = () => {
    let x = forwardBlock(embed);
    for (const block of blocks) {
      const input = x;
      x = forwardBlock(() => step(block, input));
    }
    return x;
  };
  return seed === undefined ? run() : withDropoutSeed(seed, run);
}
