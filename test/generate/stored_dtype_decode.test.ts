// Decoding from weights kept in bf16/f16: every step's logits equal the f32 model's bit for bit, on
// each native ISA. One token at a time runs the GEMV path (gemv_stream.cc), not the GEMM of the
// stored-dtype forward test: Conv1D and nn.Linear layouts, the tied head read from the embedding
// table (gpt2-tiny) and the untied one (llama-tiny), with the KV cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel } from '../../src/models/load.js';
import { generate } from '../../src/generate/generate.js';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { nativeVariants, requireNative } from '../helpers/backends.js';

const bitsOf = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  for (const dtype of ['BF16', 'F16'] as const) {
    test(`${name} ${dtype}: greedy decoding with weights kept in ${dtype} gives the f32 model's step logits, bit for bit, on every ISA`, () => {
      requireNative();
      const dir = join(mkdtempSync(join(tmpdir(), 'gptune-decode16-')), 'm');
      try {
        const src = loadModel(fixturePath(name));
        saveModel(dir, src.model, src.config, { dtype });
        const wide = loadModel(dir).model, kept = loadModel(dir, { keepStoredDtype: true }).model;
        const head = kept.outputWeight;
        assert.equal(head.storedDtype, dtype, `the head (${head.name}) is read in ${dtype}`);
        const prompt: number[] = fixtureCases(name).generate.prompt_ids.flat();
        const variants = nativeVariants();
        for (const v of variants.length ? variants : [{ name: 'reference', activate: () => {} }]) {
          v.activate();
          const want = generate(wide, prompt, { maxNewTokens: 6, temperature: 0, keepLogits: true });
          const got = generate(kept, prompt, { maxNewTokens: 6, temperature: 0, keepLogits: true });
          assert.deepEqual(got.ids, want.ids, `${v.name}: tokens`);
          got.stepLogits!.forEach((l, step) => {
            const g = bitsOf(l), w = bitsOf(want.stepLogits![step]);
            const i = g.findIndex((b, j) => b !== w[j]);
            assert.equal(i, -1, `${v.name} step ${step}: logit ${i} is ${l[i]} from ${dtype} weights, ${want.stepLogits![step][i]} from f32 ones`);
          });
        }
      } finally {
        nativeVariants().at(-1)?.activate();
        rmSync(join(dir, '..'), { recursive: true, force: true });
      }
    });
  }
}
