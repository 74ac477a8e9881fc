// Gradient checkpointing (ForwardOptions.gradientCheckpointing): each block's forward is recomputed
// during backward; the loss and every gradient equal the non-checkpointed ones bit for bit,
// with dropout on (its seeds are replayed) and with LoRA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load.js';
import { applyLora } from '../../src/lora/index.js';
import { causalLMModelLoss } from '../../src/train/losses.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { rng } from '../helpers/close.js';
import { loraParameters } from '../../src/lora/index.js';

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  for (const lora of [false, true]) {
    test(`${name}${lora ? ' + LoRA' : ''}: checkpointed gradients equal the non-checkpointed ones bit for bit`, () => {
      const ids2d: number[][] = fixtureCases(name).forward.input_ids;
      const [B, T] = [ids2d.length, ids2d[0].length];
      const ids = Int32Array.from(ids2d.flat());
      const run = (gradientCheckpointing: boolean) => {
        const model = loadModel(fixturePath(name)).model as CausalLM & { dropoutSeed?: number };
        if (lora) applyLora(model, { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: name.startsWith('llama') ? ['q_proj', 'v_proj', 'down_proj'] : ['c_attn', 'c_fc'] }, { seed: 1 });
        // lora_B random: PEFT's zeros would leave lora_A without a gradient to compare.
        const r = rng(4);
        if (lora) for (const p of loraParameters(model)) if (p.name.includes('lora_B')) p.data.set(r.f32(p.size, 0.1));
        model.train();
        model.dropoutSeed = 7;
        const loss = causalLMModelLoss(model, ids, ids, B, T, { gradientCheckpointing });
        const value = loss.item();
        loss.backward();
        return { value, grads: model.namedParameters().filter(([, p]) => p.requiresGrad).map(([n, p]) => [n, Float32Array.from(p.grad!)] as const) };
      };
      const plain = run(false), ckpt = run(true);
      assert.equal(ckpt.value, plain.value);
      assert.equal(ckpt.grads.length, plain.grads.length);
      ckpt.grads.forEach(([n, g], i) => {
        const want = plain.grads[i][1];
        assert.ok(want.some((v) => v !== 0), `${n}: a zero gradient would prove nothing`);
        const j = g.findIndex((v, k) => !Object.is(v, want[k]));
        assert.equal(j, -1, `${n}: element ${j} is ${g[j]} checkpointed, ${want[j]} without`);
      });
    });
  }
}
