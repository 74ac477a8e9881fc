// Memory-saving forward machinery: forwardBlock releases what no backward reads (and what can be
// recomputed), the fused lm_head + cross-entropy equals the unfused pair, and the fused LoRA linear
// equals its composition, dropout included. Gradients must not change by a bit where the math is
// the same, and a LoRA GPT-2's forward must keep only the tensors its backward needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { forwardBlock, liveActivationBytes, noGrad, releaseAll } from '../../src/tensor/tape.js';
import { add, mul, scale } from '../../src/tensor/ops/elementwise.js';
import { gelu } from '../../src/tensor/ops/activations.js';
import { layerNorm } from '../../src/tensor/ops/norm.js';
import { linear } from '../../src/tensor/ops/linear.js';
import { dropout } from '../../src/tensor/ops/dropout.js';
import { crossEntropy, IGNORE_INDEX } from '../../src/tensor/ops/loss.js';
import { linearCrossEntropy } from '../../src/tensor/ops/linear_cross_entropy.js';
import { loraLinear } from '../../src/tensor/ops/lora_linear.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { GPT2LMHeadModel, gpt2ConfigFrom } from '../../src/models/gpt2.js';
import { applyLora } from '../../src/lora/index.js';
import { causalLMLoss, causalLMModelLoss } from '../../src/train/losses.js';
import { expectClose, rng } from '../helpers/close.js';

const r = rng(11);

test('forwardBlock: unsaved values are released (reading them throws), saved ones kept, recomputable ones rebuilt bit for bit', () => {
  const x = Tensor.from(r.f32(24), [4, 6], true);
  const w = Tensor.from(r.f32(6), [6], true), b = Tensor.from(r.f32(6), [6], true);
  let summed!: Tensor, normed!: Tensor, act!: Tensor, prod!: Tensor, actCopy!: Float32Array, normedCopy!: Float32Array;
  const out = forwardBlock(() => {
    summed = add(x, x);                    // read by layerNorm's backward: kept
    normed = layerNorm(summed, w, b, 1e-5); // read by gelu's and mul's backward, recomputable: released
    act = gelu(normed);                     // read by mul's backward, recomputable from normed: released
    normedCopy = normed.data.slice();
    actCopy = act.data.slice();
    prod = mul(act, normed);                // read by nobody (scale keeps nothing): released
    return scale(prod, 2);
  });
  assert.equal(summed.data.length, 24, 'a saved tensor stays readable');
  assert.equal(out.data.length, 24, 'the block result stays');
  assert.throws(() => prod.data, /released after the forward block/, 'reading a value nobody kept fails loudly');
  const before = liveActivationBytes();
  assert.deepEqual(act.data, actCopy, 'gelu output recomputed exactly (and, through it, layerNorm output)');
  assert.deepEqual(normed.data, normedCopy, 'layerNorm output recomputed exactly');
  assert.equal(liveActivationBytes(), before + 2 * 24 * 4, 'recomputing allocates the two buffers again');
  sum(out).backward();
  assert.ok(x.grad && x.grad.every(Number.isFinite), 'backward runs through released and recomputed tensors');
});

test('forwardBlock: gradients are bit-identical to the same graph without blocks', () => {
  const xs = r.f32(5 * 8), ws = r.f32(8 * 8), g = r.f32(8), bb = r.f32(8);
  const run = (blocks: boolean) => {
    const x = Tensor.from(xs.slice(), [5, 8], true);
    const W = Tensor.from(ws.slice(), [8, 8], true), lw = Tensor.from(g.slice(), [8], true), lb = Tensor.from(bb.slice(), [8], true);
    const block = (h: Tensor) => add(h, linear(gelu(layerNorm(dropout(h, 0.25, 9), lw, lb, 1e-5)), W, null, 'in_out'));
    let h = x;
    for (let i = 0; i < 3; i++) {
      const inp = h;
      h = blocks ? forwardBlock(() => block(inp)) : block(inp);
    }
    const loss = sum(mul(h, h));
    loss.backward();
    return [loss.item(), ...x.grad!, ...W.grad!, ...lw.grad!, ...lb.grad!];
  };
  assert.deepEqual(run(true), run(false));
});

test('linearCrossEntropy equals crossEntropy(linear(...)): loss and gradients, ignored rows, any block size, under noGrad', () => {
  const rows = 13, C = 9, V = 37;
  const hs = r.f32(rows * C), ws = r.f32(V * C);
  const targets = new Int32Array(rows);
  for (let i = 0; i < rows; i++) targets[i] = i % 4 === 1 ? IGNORE_INDEX : (i * 7) % V;
  const unfused = () => {
    const h = Tensor.from(hs.slice(), [rows, C], true), W = Tensor.from(ws.slice(), [V, C], true);
    const l = crossEntropy(linear(h, W, null, 'out_in'), targets, { divisor: 17 });
    l.backward();
    return { loss: l.item(), dh: h.grad!, dW: W.grad! };
  };
  const want = unfused();
  for (const blockRows of [1, 4, 100, undefined]) {
    const h = Tensor.from(hs.slice(), [rows, C], true), W = Tensor.from(ws.slice(), [V, C], true);
    const l = linearCrossEntropy(h, W, targets, { divisor: 17, blockRows });
    assert.ok(Math.abs(l.item() - want.loss) < 1e-5, `block ${blockRows}: loss ${l.item()} vs ${want.loss}`);
    scale(l, 3).backward(); // the upstream gradient is honoured
    expectClose(`block ${blockRows}: dhidden`, h.grad!, want.dh.map((v) => 3 * v), { atol: 1e-6, rtol: 1e-4 });
    expectClose(`block ${blockRows}: dweight`, W.grad!, want.dW.map((v) => 3 * v), { atol: 1e-6, rtol: 1e-4 });
    for (let i = 1; i < rows; i += 4) assert.deepEqual(Array.from(h.grad!.subarray(i * C, i * C + C)), new Array(C).fill(0), 'ignored rows get no gradient');
  }
  const frozen = Tensor.from(ws.slice(), [V, C]);
  const h = Tensor.from(hs.slice(), [rows, C], true);
  const l = linearCrossEntropy(h, frozen, targets, { divisor: 17, blockRows: 5 });
  l.backward();
  assert.equal(frozen.grad, null, 'a frozen head gets no gradient');
  expectClose('frozen head: dhidden', h.grad!, want.dh, { atol: 1e-6, rtol: 1e-4 });
  const plain = noGrad(() => linearCrossEntropy(Tensor.from(hs, [rows, C]), frozen, targets).item());
  const mean = noGrad(() => crossEntropy(linear(Tensor.from(hs, [rows, C]), frozen, null, 'out_in'), targets).item());
  assert.ok(Math.abs(plain - mean) < 1e-5, 'default divisor: the mean over targets');
  releaseAll();
  const allIgnored = linearCrossEntropy(Tensor.from(hs, [rows, C], true), frozen, new Int32Array(rows).fill(IGNORE_INDEX));
  assert.equal(allIgnored.item(), 0);
  releaseAll();
  assert.throws(() => linearCrossEntropy(Tensor.from(hs, [rows, C]), Tensor.from(ws, [C, V]), targets), /does not fit hidden/);
  assert.throws(() => linearCrossEntropy(Tensor.from(hs, [rows, C]), frozen, targets.map(() => V)), /outside the vocabulary/);
});

test('loraLinear equals base + scaling * B(A(dropout(x))) composed from plain ops, gradients included', () => {
  const rows = 6, inF = 10, outF = 7, rank = 3, s = 1.7, p = 0.3, seed = 1234;
  const xs = r.f32(rows * inF), Ws = r.f32(inF * outF), bs = r.f32(outF), As = r.f32(rank * inF), Bs = r.f32(outF * rank);
  for (const drop of [0, p]) {
    const mk = () => ({
      x: Tensor.from(xs.slice(), [rows, inF], true), W: Tensor.from(Ws.slice(), [inF, outF]), b: Tensor.from(bs.slice(), [outF]),
      A: Tensor.from(As.slice(), [rank, inF], true), B: Tensor.from(Bs.slice(), [outF, rank], true),
    });
    const u = mk(), f = mk();
    const gw = r.f32(rows * outF);
    const composed = add(linear(u.x, u.W, u.b, 'in_out'),
      scale(linear(linear(drop ? dropout(u.x, drop, seed) : u.x, u.A, null, 'out_in'), u.B, null, 'out_in'), Math.fround(s)));
    const want = composed.data.slice();
    sum(mul(composed, Tensor.from(gw, [rows, outF]))).backward();
    const fused = loraLinear(f.x, f.W, f.b, 'in_out', { a: f.A, b: f.B, scaling: s, p: drop, seed });
    expectClose(`p=${drop}: forward`, fused.data, want, { atol: 1e-5, rtol: 1e-5 });
    sum(mul(fused, Tensor.from(gw, [rows, outF]))).backward();
    expectClose(`p=${drop}: dx`, f.x.grad!, u.x.grad!, { atol: 1e-5, rtol: 1e-5 });
    expectClose(`p=${drop}: dA`, f.A.grad!, u.A.grad!, { atol: 1e-5, rtol: 1e-5 });
    expectClose(`p=${drop}: dB`, f.B.grad!, u.B.grad!, { atol: 1e-5, rtol: 1e-5 });
  }
});

test('LoRA GPT-2: the forward keeps only what backward reads; the fused loss equals logits + cross-entropy', () => {
  const L = 3, C = 32, Bn = 2, T = 16, V = 97;
  const model = new GPT2LMHeadModel(gpt2ConfigFrom({ vocab_size: V, n_positions: 32, n_embd: C, n_layer: L, n_head: 4, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0 }));
  model.initWeights(3);
  applyLora(model, { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ['c_attn', 'c_proj', 'c_fc'] });
  for (const p of model.parameters()) if (p.name.includes('lora_B')) p.data.set(r.f32(p.size, 0.05));
  const ids = new Int32Array(Bn * T).map((_, i) => (i * 31) % V);

  releaseAll();
  const hidden = model.hiddenStates(ids, Bn, T, { dropoutSeed: 5 });
  // Per layer and token, backward needs: ln_1's input (C), q, k, v (3C), the attention output (C),
  // ln_2's input (C) and c_fc's output (4C) = 10C floats; the rest (the qkv before its split, gelu's
  // and the norms' outputs, dropout outputs, residual sums, LoRA's base outputs) is released.
  const needed = L * Bn * T * 10 * C * 4;
  const slack = (L * 24 + 2) * Bn * T * 4 + 16 * 1024; // per-row statistics (norms, attention lse, LoRA's [rows, r]), small buffers
  const live = liveActivationBytes();
  assert.ok(live >= needed && live <= needed + slack, `forward keeps ${live} bytes; backward needs ${needed}`);
  releaseAll();

  const grads = (fused: boolean) => {
    model.zeroGrad();
    const loss = fused ? causalLMModelLoss(model, ids, ids, Bn, T, { dropoutSeed: 5 }) : causalLMLoss(model.forward(ids, Bn, T, { dropoutSeed: 5 }), ids, Bn, T);
    loss.backward();
    return [loss.item(), ...model.parameters().filter((p) => p.requiresGrad).flatMap((p) => Array.from(p.grad!))];
  };
  const a = grads(true), b = grads(false);
  expectClose('fused vs unfused loss and LoRA gradients', Float32Array.from(a), Float32Array.from(b), { atol: 1e-6, rtol: 1e-4 });
});
