// Weights kept in the checkpoint's bf16/f16 (loadModel's keepStoredDtype): half the bytes, and every
// number equal to loading them widened to f32: logits, LoRA gradients, and the merged weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, saveModel } from '../../src/models/load.js';
import { applyLora, loraParameters, mergeLora } from '../../src/lora/index.js';
import { causalLMModelLoss } from '../../src/train/losses.js';
import { noGrad, releaseAll } from '../../src/tensor/tape.js';
import { f32ToBF16, f32ToF16 } from '../../src/formats/dtype.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { rng } from '../helpers/close.js';
import { tempDir } from '../helpers/temp_dir.js';

const bitsOf = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
const sameBits = (name: string, got: Float32Array, want: Float32Array) => {
  assert.equal(got.length, want.length, name);
  const g = bitsOf(got), w = bitsOf(want);
  const i = g.findIndex((v, j) => v !== w[j]);
  assert.equal(i, -1, `${name}: element ${i} is ${got[i]} with stored-dtype weights, ${want[i]} with f32 ones`);
};

/** LoRA r4 on every projection, lora_B random (PEFT's zeros would make lora_A's gradient zero). */
function withLora(model: CausalLM, arch: string): void {
  const targets = arch === 'llama' ? ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] : ['c_attn', 'c_proj', 'c_fc'];
  applyLora(model, { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: targets }, { seed: 3 });
  const r = rng(9);
  for (const p of loraParameters(model)) if (p.name.includes('lora_B')) p.data.set(r.f32(p.size, 0.1));
}

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  const arch = name.startsWith('llama') ? 'llama' : 'gpt2';
  const ids2d: number[][] = fixtureCases(name).forward.input_ids;
  const [B, T] = [ids2d.length, ids2d[0].length];
  const ids = Int32Array.from(ids2d.flat());

  for (const dtype of ['BF16', 'F16'] as const) {
    test(`${name} ${dtype}: weights kept in ${dtype} give the f32 path's logits, LoRA gradients and merge, bit for bit`, () => {
      const dir = join(tempDir('stored-'), 'm');
      try {
        const src = loadModel(fixturePath(name));
        saveModel(dir, src.model, src.config, { dtype });
        const wide = loadModel(dir).model, kept = loadModel(dir, { keepStoredDtype: true }).model;

        // Linear and embedding weights stay 16-bit (and frozen; the tied head reads the table as 16 bits too); norms and biases are widened.
        const keptParams = kept.namedParameters();
        const half = keptParams.filter(([, p]) => p.storedDtype === dtype);
        assert.ok(half.length > 0 && half.every(([, p]) => p.rank === 2 && !p.requiresGrad), half.map(([n]) => n).join(', '));
        assert.ok(half.some(([n]) => n.endsWith('wte.weight') || n.endsWith('embed_tokens.weight')), 'the embedding table is kept too');
        assert.ok(keptParams.filter(([, p]) => p.storedDtype === 'F32').every(([, p]) => p.rank === 1), 'only norms and biases are widened');
        if (arch === 'llama') assert.ok(half.some(([n]) => n === 'lm_head.weight'), 'the untied lm_head is kept too');

        const logits = (m: CausalLM) => noGrad(() => Float32Array.from(m.eval().forward(ids, B, T).data));
        sameBits('logits', logits(kept), logits(wide));
        releaseAll();

        for (const m of [wide, kept]) {
          withLora(m, arch);
          m.train();
          causalLMModelLoss(m, ids, ids, B, T).backward();
        }
        const wideLora = loraParameters(wide), keptLora = loraParameters(kept);
        assert.equal(keptLora.length, wideLora.length);
        keptLora.forEach((p, i) => {
          assert.ok(wideLora[i].grad!.some((g) => g !== 0), `${p.name}: a zero gradient would prove nothing`);
          sameBits(`${p.name} grad`, p.grad!, wideLora[i].grad!);
        });

        // Merging widens, adds in f32 and rounds back to the base dtype: what saving the f32 merge in dtype gives.
        mergeLora(wide);
        mergeLora(kept);
        const round = dtype === 'BF16' ? f32ToBF16 : f32ToF16;
        const wideByName = new Map(wide.namedParameters());
        for (const [n, p] of kept.namedParameters()) {
          if (p.storedDtype === 'F32') continue;
          const want = round(wideByName.get(n)!.data), got = round(p.toFloat32());
          const i = got.findIndex((v, j) => v !== want[j]);
          assert.equal(i, -1, `${n}: merged ${dtype} bits differ at element ${i}`);
        }
      } finally {
        rmSync(join(dir, '..'), { recursive: true, force: true });
      }
    });
  }
}
