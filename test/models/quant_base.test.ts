// --base-quant (loadModel's baseQuant): linear weights kept as ggml Q8_0 / Q4_0 blocks. Every number
// equals the f32 path's on the dequantized weights (logits; LoRA gradients, whose dx runs through the
// quantized W), LoRA trains on an int8 base (the QLoRA recipe), and a merge requantizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load.js';
import { applyLora, loraParameters, mergeLora } from '../../src/lora/index.js';
import { causalLMModelLoss } from '../../src/train/losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { noGrad, releaseAll } from '../../src/tensor/tape.js';
import { quantize } from '../../src/formats/ggml_quant.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { rng } from '../helpers/close.js';

const bitsOf = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
const sameBits = (name: string, got: Float32Array, want: Float32Array) => {
  assert.equal(got.length, want.length, name);
  const g = bitsOf(got), w = bitsOf(want);
  const i = g.findIndex((v, j) => v !== w[j]);
  assert.equal(i, -1, `${name}: element ${i} is ${got[i]} on the quantized base, ${want[i]} on the dequantized f32 one`);
};

function withLora(model: CausalLM, arch: string, randomB: boolean): void {
  const targets = arch === 'llama' ? ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] : ['c_attn', 'c_proj', 'c_fc'];
  applyLora(model, { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: targets }, { seed: 3 });
  const r = rng(9);
  if (randomB) for (const p of loraParameters(model)) if (p.name.includes('lora_B')) p.data.set(r.f32(p.size, 0.1));
}

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  const arch = name.startsWith('llama') ? 'llama' : 'gpt2';
  const ids2d: number[][] = fixtureCases(name).forward.input_ids;
  const [B, T] = [ids2d.length, ids2d[0].length];
  const ids = Int32Array.from(ids2d.flat());

  for (const [quant, dtype] of [['int8', 'Q8_0'], ['q4', 'Q4_0']] as const) {
    test(`${name} --base-quant ${quant}: ${dtype} linear weights give the logits and LoRA gradients of f32 on the dequantized weights, bit for bit`, () => {
      const q = loadModel(fixturePath(name), { baseQuant: quant }).model;
      const wide = loadModel(fixturePath(name)).model;
      const f32 = new Map(wide.namedParameters());
      const quantized = q.namedParameters().filter(([, p]) => p.storedDtype === dtype);
      // Every linear weight whose input is whole blocks; never the lm_head or embeddings (as QLoRA).
      const expectQuant = arch === 'gpt2' ? 4 * 2 : 6 * 2; // llama-tiny's down_proj has 176 inputs: kept f32
      assert.equal(quantized.length, expectQuant, quantized.map(([n]) => n).join(', '));
      assert.ok(quantized.every(([n, p]) => !n.includes('lm_head') && !n.includes('embed') && !n.includes('wte') && !p.requiresGrad));
      for (const [n, p] of quantized) {
        const w = f32.get(n)!;
        // The blocks are ggml's of the f32 weight in [out, in] (GPT-2's Conv1D [in, out] transposed).
        const [r0, c0] = w.shape;
        const outIn = arch === 'gpt2' ? Float32Array.from({ length: w.size }, (_, i) => w.data[(i % r0) * c0 + Math.floor(i / r0)]) : w.data;
        assert.deepEqual((p.weightOperand as { blocks: Uint8Array }).blocks, quantize(dtype, outIn), `${n} blocks`);
        w.data.set(p.toFloat32());
      }
      const logits = (m: CausalLM) => noGrad(() => Float32Array.from(m.eval().forward(ids, B, T).data));
      const lq = logits(q), lw = logits(wide);
      sameBits('logits', lq, lw);
      const ref = logits(loadModel(fixturePath(name)).model);
      assert.ok(lq.some((v, i) => v !== ref[i]), 'quantization changed the logits (else the test proves nothing)');
      releaseAll();

      for (const m of [wide, q]) {
        withLora(m, arch, true);
        m.train();
        causalLMModelLoss(m, ids, ids, B, T).backward();
      }
      const wideLora = loraParameters(wide), qLora = loraParameters(q);
      qLora.forEach((p, i) => {
        assert.ok(wideLora[i].grad!.some((g) => g !== 0), `${p.name}: a zero gradient would prove nothing`);
        sameBits(`${p.name} grad`, p.grad!, wideLora[i].grad!);
      });
      releaseAll();
    });
  }
}

test('LoRA on an int8 base trains: the loss falls over a few AdamW steps; merging requantizes the base', () => {
  const name = 'llama-tiny';
  const ids2d: number[][] = fixtureCases(name).forward.input_ids;
  const [B, T] = [ids2d.length, ids2d[0].length];
  const ids = Int32Array.from(ids2d.flat());
  const m = loadModel(fixturePath(name), { baseQuant: 'int8' }).model;
  withLora(m, 'llama', false);
  m.train();
  const opt = new AdamW(loraParameters(m), { lr: 1e-2, weightDecay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < 8; step++) {
    const loss = causalLMModelLoss(m, ids, ids, B, T);
    losses.push(loss.item());
    loss.backward();
    opt.stepUpdate();
    opt.zeroGrad();
    releaseAll();
  }
  assert.ok(losses.at(-1)! < losses[0] - 0.1, `losses ${losses.map((l) => l.toFixed(4)).join(' ')}`);
  const before = noGrad(() => Float32Array.from(m.eval().forward(ids, B, T).data));
  mergeLora(m);
  const q = m.namedParameters().filter(([, p]) => p.storedDtype === 'Q8_0');
  assert.equal(q.length, 12, 'the merged weights stay Q8_0');
  const after = noGrad(() => Float32Array.from(m.eval().forward(ids, B, T).data));
  let maxDiff = 0;
  for (let i = 0; i < after.length; i++) maxDiff = Math.max(maxDiff, Math.abs(after[i] - before[i]));
  assert.ok(maxDiff < 0.05, `merged logits within int8 rounding of the adapted ones (max diff ${maxDiff})`);
  releaseAll();
});

test('serve and chat open their base quantized with --base-quant (loadServedModel)', async () => {
  const { loadServedModel } = await import('../../src/serve/served_model.js');
  const served = loadServedModel({ modelDir: fixturePath('llama-tiny'), baseQuant: 'q4' });
  const kinds = new Set(served.model.namedParameters().map(([, p]) => p.storedDtype));
  assert.ok(kinds.has('Q4_0') && !kinds.has('Q8_0'), [...kinds].join(', '));
});
