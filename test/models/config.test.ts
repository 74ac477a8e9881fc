// Config fields that change the math are refused by name; llama3 rope scaling follows HF's formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { llamaConfigFrom, ropeInvFreq } from '../../src/models/llama.js';
import { gpt2ConfigFrom } from '../../src/models/gpt2.js';
import { createModel } from '../../src/models/registry.js';

const base = { model_type: 'llama', vocab_size: 32, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2 };

test('unsupported fields are refused by name', () => {
  assert.throws(() => llamaConfigFrom({ ...base, rope_scaling: { rope_type: 'longrope', factor: 4 } }), /rope_type 'longrope' is not supported/);
  assert.throws(() => llamaConfigFrom({ ...base, hidden_act: 'gelu' }), /config\.json: 'hidden_act': "gelu" is not supported/);
  assert.throws(() => llamaConfigFrom({ ...base, num_key_value_heads: 3 }), /'num_key_value_heads'.*not a multiple of num_key_value_heads 3/);
  assert.throws(() => llamaConfigFrom({ ...base, model_type: 'qwen2', use_sliding_window: true, sliding_window: 0 }), /'sliding_window'.*must be a positive integer/);
  assert.throws(() => gpt2ConfigFrom({ activation_function: 'relu' }), /'activation_function': "relu" is not supported/);
  assert.throws(() => gpt2ConfigFrom({ scale_attn_by_inverse_layer_idx: true }), /'scale_attn_by_inverse_layer_idx': true is not supported/);
  assert.throws(() => createModel({ model_type: 'bert' }), /model_type 'bert' is not supported \(supported: gpt2, llama, qwen3, gemma3_text, qwen2, mistral, gemma3\)/);
});

test('qwen2 has q/k/v biases and no o_proj bias; names follow HF', () => {
  const m = createModel({ ...base, model_type: 'qwen2' });
  const names = m.namedParameters().map(([n]) => n);
  assert.ok(names.includes('model.layers.0.self_attn.q_proj.bias'));
  assert.ok(!names.includes('model.layers.0.self_attn.o_proj.bias'));
  assert.ok(names.includes('lm_head.weight'));
  const tied = createModel({ ...base, tie_word_embeddings: true });
  assert.ok(!tied.namedParameters().some(([n]) => n === 'lm_head.weight'));
});

test('llama3 rope scaling (HF _compute_llama3_parameters)', () => {
  const cfg = llamaConfigFrom({ ...base, hidden_size: 64, num_attention_heads: 1, num_key_value_heads: 1, rope_theta: 500000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  const { inv } = ropeInvFreq(cfg);
  const plain = (j: number) => 1 / Math.fround(Math.pow(500000, Math.fround((2 * j) / 64))); // f32, as torch computes it
  assert.equal(inv[0], plain(0)); // high frequency: unchanged (wavelength 2π < 8192/4)
  assert.ok(Math.abs(inv[31] - plain(31) / 8) < 1e-15); // low frequency: divided by the factor
  const j = 16, wl = 2 * Math.PI / plain(j);
  assert.ok(wl >= 8192 / 4 && wl <= 8192, 'j = 16 is in the smoothed band');
  const smooth = (8192 / wl - 1) / 3;
  assert.ok(Math.abs(inv[j] - ((1 - smooth) * plain(j) / 8 + smooth * plain(j))) < 1e-15);
});
