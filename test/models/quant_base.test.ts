// --base-quant (loadModel's baseQuant): linear weights kept as ggml Q8_0 / Q4_0 or NF4 blocks. Every number
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
import { quantizeNf4 } from '../../src/formats/nf4.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import type { QuantWeight } from '../../src/backend/backend.js';
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

  for (const [quant, dtype] of [['int8', 'Q8_0'], ['q4', 'Q4_0'], ['nf4', 'NF4']] as const) {
    test(`${name} --base-quant ${quant}: ${dtype} linear weights give the logits and LoRA gradients of f32 on the dequantized weights, bit for bit`, () => {
      const q = loadModel(fixturePath(name), { baseQuant: quant }).model;
      const wide = loadModel(fixturePath(name)).model;
      const f32 = new Map(wide.namedParameters());
      const quantized = q.namedParameters().filter(([, p]) => p.storedDtype === dtype);
      // Every linear weight whose input is whole blocks; never the lm_head or embeddings (as QLoRA).
      // llama-tiny's down_proj has 176 inputs: kept f32 by ggml's row blocks, NF4's run over the flattened weight.
      const expectQuant = arch === 'gpt2' ? 4 * 2 : dtype === 'NF4' ? 7 * 2 : 6 * 2;
      assert.equal(quantized.length, expectQuant, quantized.map(([n]) => n).join(', '));
      assert.ok(quantized.every(([n, p]) => !n.includes('lm_head') && !n.includes('embed') && !n.includes('wte') && !p.requiresGrad));
      for (const [n, p] of quantized) {
        const w = f32.get(n)!;
        // The blocks are ggml's of the f32 weight in [out, in] (GPT-2's Conv1D [in, out] transposed).
        const [r0, c0] = w.shape;
        const outIn = arch === 'gpt2' ? Float32Array.from({ length: w.size }, (_, i) => w.data[(i % r0) * c0 + Math.floor(i / r0)]) : w.data;
        const stored = p.weightOperand as QuantWeight;
        if (stored.dtype === 'NF4') {
          const want = quantizeNf4(outIn);
          assert.deepEqual([stored.blocks, stored.absmaxCodes, stored.absmax2, stored.offset], [want.blocks, want.absmaxCodes, want.absmax2, want.offset], `${n} NF4`);
        } else assert.deepEqual(stored.blocks, quantize(dtype as 'Q8_0' | 'Q4_0', outIn), `${n} blocks`);
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

for (const [quant, dtype, mergeTol] of [['int8', 'Q8_0', 0.05], ['nf4', 'NF4', 0.5]] as const) {
  test(`LoRA on an ${quant} base trains: the loss falls over a few AdamW steps; merging requantizes the base`, () => {
    const name = 'llama-tiny';
    const ids2d: number[][] = fixtureCases(name).forward.input_ids;
    const [B, T] = [ids2d.length, ids2d[0].length];
    const ids = Int32Array.from(ids2d.flat());
    const lossOf = (m: CausalLM) => { const l = noGrad(() => causalLMModelLoss(m.eval(), ids, ids, B, T).item()); releaseAll(); return l; };
    const m = loadModel(fixturePath(name), { baseQuant: quant }).model;
    const f32Loss = lossOf(loadModel(fixturePath(name)).model), quantLoss = lossOf(m);
    // The quantization's cost on the untrained base (QLoRA's question): reported, and small.
    console.log(`llama-tiny loss: f32 base ${f32Loss.toFixed(5)}, ${quant} base ${quantLoss.toFixed(5)} (delta ${(quantLoss - f32Loss).toExponential(2)})`);
    assert.ok(quantLoss !== f32Loss && Math.abs(quantLoss - f32Loss) < 0.05, `${quant} ${quantLoss} vs f32 ${f32Loss}`);
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
    const q = m.namedParameters().filter(([, p]) => p.storedDtype === dtype);
    assert.equal(q.length, dtype === 'NF4' ? 14 : 12, `the merged weights stay ${dtype}`);
    const after = noGrad(() => Float32Array.from(m.eval().forward(ids, B, T).data));
    let maxDiff = 0;
    for (let i = 0; i < after.length; i++) maxDiff = Math.max(maxDiff, Math.abs(after[i] - before[i]));
    console.log(`${quant}: merged logits vs adapted, max diff ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff < mergeTol, `merged logits within ${quant} rounding of the adapted ones (max diff ${maxDiff})`);
    releaseAll();
  });
}

test('serve and chat open their base quantized with --base-quant (loadServedModel)', async () => {
  const { loadServedModel } = await import('../../src/serve/served_model.js');
  const served = loadServedModel({ modelDir: fixturePath('llama-tiny'), baseQuant: 'q4' });
  const kinds = new Set(served.model.namedParameters().map(([, p]) => p.storedDtype));
  assert.ok(kinds.has('Q4_0') && !kinds.has('Q8_0'), [...kinds].join(', '));
});

test('a bf16 checkpoint kept mapped (keepStoredDtype, as LoRA loads it) quantizes to the same blocks as one read into f32', () => {
  const mapped = loadModel(fixturePath('gemma3-tiny'), { keepStoredDtype: true, baseQuant: 'nf4' }).model;
  const read = new Map(loadModel(fixturePath('gemma3-tiny'), { baseQuant: 'nf4' }).model.namedParameters());
  const nf4 = mapped.namedParameters().filter(([, p]) => p.storedDtype === 'NF4');
  assert.ok(nf4.length >= 7 * 3, `${nf4.length} NF4 weights`);
  for (const [n, p] of nf4) assert.deepEqual(p.weightOperand, read.get(n)!.weightOperand, n);
  // The embedding stays a bf16 view of the mapped file; nothing quantized reads through it.
  assert.ok(mapped.namedParameters().some(([n, p]) => n.includes('embed') && p.storedDtype === 'BF16'));
});
