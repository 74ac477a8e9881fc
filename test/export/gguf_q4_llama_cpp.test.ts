// Q4_0 and Q8_0 as llama.cpp reads them (node-llama-cpp 3.21.1, CPU): a GGUF exported with gptune's
// quantizer (formats/ggml_quant.ts, the blocks --base-quant keeps in memory) gives next-token
// log-probabilities close to gptune's on the same quantized base, and its blocks are byte for byte the
// ones the base holds in memory. A wrong scale, sign or nibble order
// would move them by whole nats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { readGgufFileInfo } from 'node-llama-cpp';
import { join } from 'node:path';
import { exportGguf } from '../../src/export/gguf.js';
import { loadModel } from '../../src/models/load.js';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { gptuneGreedy, gptuneLogProbs, llamaLogProbs, loadGguf, maxLogProbDiff } from './llama_cpp.js';
import { gpt2TinyDir, llamaTinyDir } from './tiny_models.js';
import { tempDir } from '../helpers/temp_dir.js';

const ROOT = tempDir('gguf-q4-');

/**
 * llama.cpp also quantizes the embeddings and the head, and its quantized matmuls round the
 * activations to Q8_0 blocks first (ggml_vec_dot_q4_0_q8_0), so the two differ by that rounding.
 */
const TOLERANCE = { q8_0: 0.05, q4_0: 0.3 } as const;

for (const [name, make] of [['gpt2-tiny', gpt2TinyDir], ['llama-tiny', llamaTinyDir]] as const) {
  for (const [dtype, quant] of [['q4_0', 'q4'], ['q8_0', 'int8']] as const) {
    test(`${name} ${dtype}: llama.cpp on the exported GGUF agrees with gptune --base-quant ${quant}`, async () => {
      const dir = join(ROOT, `${name}-${dtype}`);
      mkdirSync(dir, { recursive: true });
      make(dir);
      const out = join(ROOT, `${name}.${dtype}.gguf`);
      exportGguf({ model: dir, dtype, out });
      const q = loadModel(dir, { baseQuant: quant }).model, f32 = loadModel(dir).model;
      const prompt = loadTokenizerDir(dir)!.tokenizer.encode('Call me Ishmael. Some years ago');
      const seq = [...prompt, ...gptuneGreedy(q, prompt, 16)];
      // The file's blocks are the bytes the quantized base holds (GPT-2's Conv1D stored transposed, as ggml wants it).
      const info = await readGgufFileInfo(out, { logWarnings: false });
      const bytes = readFileSync(out);
      const [hfName, ggufName] = name === 'gpt2-tiny' ? ['transformer.h.1.attn.c_attn.weight', 'blk.1.attn_qkv.weight'] : ['model.layers.1.self_attn.v_proj.weight', 'blk.1.attn_v.weight'];
      const held = (new Map(q.namedParameters()).get(hfName)!.weightOperand as { blocks: Uint8Array }).blocks;
      const at = Number(info.tensorInfo!.find((t) => t.name === ggufName)!.fileOffset);
      assert.ok(held.length > 0 && bytes.subarray(at, at + held.length).equals(held), `${ggufName}: the GGUF's ${dtype} bytes are ${hfName}'s blocks in memory`);
      const m = await loadGguf(out);
      try {
        const theirs = await llamaLogProbs(m, seq, q.vocabSize);
        const vsQuant = maxLogProbDiff(gptuneLogProbs(q, seq), theirs);
        const vsF32 = maxLogProbDiff(gptuneLogProbs(f32, seq), theirs);
        console.log(`${name} ${dtype}: max |log-prob difference| vs gptune --base-quant ${quant} ${vsQuant.toExponential(2)}, vs f32 ${vsF32.toExponential(2)}`);
        assert.ok(vsQuant < TOLERANCE[dtype], `${name} ${dtype}: log-probabilities differ by ${vsQuant}`);
      } finally {
        await m.dispose();
      }
    });
  }
}
