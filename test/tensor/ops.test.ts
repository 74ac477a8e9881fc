// The op layer (validation, tape plumbing, backward wiring) on the reference backend: every op's
// gradient against finite differences, and shape errors that name the op and both shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../../src/backend/select.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import * as ops from '../../src/tensor/index.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { rng } from '../helpers/close.js';

setBackend(referenceBackend);
const r = rng(1);

test('linear (both weight layouts, bias) gradients', () => {
  gradcheck('linear out_in', ([x, w, b]) => ops.linear(x, w, b, 'out_in'), [r.f32(2 * 3 * 5), r.f32(4 * 5), r.f32(4)], [[2, 3, 5], [4, 5], [4]]);
  gradcheck('linear in_out', ([x, w, b]) => ops.linear(x, w, b, 'in_out'), [r.f32(3 * 5), r.f32(5 * 4), r.f32(4)], [[3, 5], [5, 4], [4]]);
});

test('matmul shared and batched, with transB', () => {
  gradcheck('matmul shared', ([a, b]) => ops.matmul(a, b), [r.f32(2 * 3 * 4), r.f32(4 * 5)], [[2, 3, 4], [4, 5]]);
  gradcheck('matmul batched T', ([a, b]) => ops.matmul(a, b, { transB: true }), [r.f32(2 * 3 * 4), r.f32(2 * 5 * 4)], [[2, 3, 4], [2, 5, 4]]);
});

test('elementwise, activations, norms, softmax', () => {
  gradcheck('add', ([a, b]) => ops.add(a, b), [r.f32(6), r.f32(6)], [[2, 3], [2, 3]]);
  gradcheck('mul', ([a, b]) => ops.mul(a, b), [r.f32(6), r.f32(6)], [[2, 3], [2, 3]]);
  gradcheck('scale', ([a]) => ops.scale(a, -1.5), [r.f32(6)], [[6]]);
  gradcheck('gelu', ([a]) => ops.gelu(a), [r.f32(9)], [[9]], { eps: 1e-3 });
  gradcheck('silu', ([a]) => ops.silu(a), [r.f32(9)], [[9]], { eps: 1e-3 });
  gradcheck('layerNorm', ([x, w, b]) => ops.layerNorm(x, w, b, 1e-5), [r.f32(3 * 7), r.f32(7), r.f32(7)], [[3, 7], [7], [7]], { eps: 1e-3 });
  gradcheck('rmsNorm', ([x, w]) => ops.rmsNorm(x, w, 1e-6), [r.f32(3 * 7), r.f32(7)], [[3, 7], [7]], { eps: 1e-3 });
  gradcheck('softmax', ([x]) => ops.softmax(x), [r.f32(2 * 5)], [[2, 5]], { eps: 1e-3 });
});

test('layout ops: reshape, slice, split, concat, transpose', () => {
  gradcheck('reshape', ([x]) => ops.reshape(x, [3, -1]), [r.f32(12)], [[2, 6]]);
  gradcheck('slice', ([x]) => ops.slice(x, 1, 1, 3), [r.f32(2 * 4 * 3)], [[2, 4, 3]]);
  gradcheck('split+concat', ([x]) => { const [a, b] = ops.split(x, [2, 3], -1); return ops.concat([b, a, b], -1); }, [r.f32(2 * 5)], [[2, 5]]);
  gradcheck('transpose', ([x]) => ops.transpose(x, 0, 2), [r.f32(2 * 3 * 4)], [[2, 3, 4]]);
  const x = Tensor.from([0, 1, 2, 3, 4, 5], [2, 3]);
  assert.deepEqual(ops.transpose(x, 0, 1).toArray(), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(ops.slice(x, 1, 1, 3).toArray(), [1, 2, 4, 5]);
});

test('attention (GQA, segments) and rope gradients', () => {
  const [B, T, H, KVH, D] = [1, 5, 4, 2, 4];
  const seg = Int32Array.from([0, 0, 1, 1, 1]);
  gradcheck('attention', ([q, k, v]) => ops.attention(q, k, v, { segments: seg }),
    [r.f32(B * T * H * D), r.f32(B * T * KVH * D), r.f32(B * T * KVH * D)], [[B, T, H, D], [B, T, KVH, D], [B, T, KVH, D]], { eps: 1e-3 });
  const cos = new Float32Array(8 * 2), sin = new Float32Array(8 * 2);
  for (let p = 0; p < 8; p++) for (let i = 0; i < 2; i++) { cos[p * 2 + i] = Math.cos(p / 10 ** i); sin[p * 2 + i] = Math.sin(p / 10 ** i); }
  const pos = Int32Array.from([3, 0, 1, 2, 7]);
  gradcheck('rope', ([x]) => ops.rope(x, cos, sin, pos), [r.f32(B * T * H * D)], [[B, T, H, D]]);
});

test('embedding and cross-entropy gradients; -100 ignored', () => {
  const ids = Int32Array.from([1, 3, 1, 0]);
  gradcheck('embedding', ([w]) => ops.embedding(w, ids, [2, 2]), [r.f32(4 * 3)], [[4, 3]]);
  const targets = Int32Array.from([2, -100, 0]);
  gradcheck('crossEntropy', ([l]) => ops.crossEntropy(l, targets), [r.f32(3 * 5)], [[3, 5]], { eps: 1e-3 });
  const logits = Tensor.from(new Float32Array(2 * 4), [2, 4]);
  assert.ok(Math.abs(ops.crossEntropy(logits, Int32Array.from([1, -100])).item() - Math.log(4)) < 1e-6);
});

test('a tensor used twice sums its gradients', () => {
  const x = Tensor.from([1, 2, 3], [3], true);
  ops.sum(ops.mul(x, x)).backward();
  assert.deepEqual(Array.from(x.grad!), [2, 4, 6]);
});

test('shape errors name the op and both shapes', () => {
  const a = Tensor.from(new Float32Array(6), [2, 3]), b = Tensor.from(new Float32Array(8), [2, 4]);
  assert.throws(() => ops.add(a, b), /add: shapes differ: \[2, 3\] and \[2, 4\]/);
  assert.throws(() => ops.linear(a, b, null, 'out_in'), /linear: input \[2, 3\] does not match weight \[2, 4\]/);
  assert.throws(() => ops.matmul(a, a), /matmul: inner dimensions differ: \[2, 3\] @ \[2, 3\]/);
  assert.throws(() => ops.embedding(b, Int32Array.from([5]), [1]), /id 5 at position 0 is outside the table of 2 rows/);
});
