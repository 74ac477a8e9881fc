// Config reading for Qwen3, Gemma 3 and Mistral: sliding-window layers, RoPE bases, refusals by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemma3ConfigFrom } from '../../src/models/gemma3.js';
import { llamaConfigFrom } from '../../src/models/llama.js';
import { createModel } from '../../src/models/registry.js';

const base = { vocab_size: 32, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 4, num_attention_heads: 2, num_key_value_heads: 1 };

test('gemma3_text: sliding_window_pattern interleaves local and global layers, legacy RoPE keys give each its base', () => {
  const c = gemma3ConfigFrom({ ...base, model_type: 'gemma3_text', head_dim: 8, sliding_window_pattern: 2, rope_theta: 5e5, rope_local_base_freq: 7e3 });
  assert.deepEqual(c.layer_types, ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention']);
  assert.equal(c.rope.full_attention.rope_theta, 5e5);
  assert.equal(c.rope.sliding_attention.rope_theta, 7e3);
});

test('gemma3: the text_config of a multimodal checkpoint is read; soft-capping is refused by name', () => {
  const m = createModel({ model_type: 'gemma3', text_config: { ...base, head_dim: 8 } });
  assert.equal(m.config.model_type, 'gemma3_text');
  assert.throws(() => gemma3ConfigFrom({ ...base, model_type: 'gemma3_text', final_logit_softcapping: 30 }), /final_logit_softcapping/);
  assert.throws(() => gemma3ConfigFrom({ ...base, model_type: 'gemma3_text', attn_logit_softcapping: 50 }), /attn_logit_softcapping/);
  assert.throws(() => gemma3ConfigFrom({ ...base, model_type: 'gemma3_text', hidden_activation: 'relu' }), /hidden_activation/);
});

test('mistral windows every layer (4096 when absent); qwen3 only with use_sliding_window, from max_window_layers', () => {
  assert.deepEqual(llamaConfigFrom({ ...base, model_type: 'mistral', sliding_window: 8 }).layer_windows, [8, 8, 8, 8]);
  assert.deepEqual(llamaConfigFrom({ ...base, model_type: 'mistral' }).layer_windows, [4096, 4096, 4096, 4096]);
  assert.deepEqual(llamaConfigFrom({ ...base, model_type: 'mistral', sliding_window: null }).layer_windows, [null, null, null, null]);
  assert.deepEqual(llamaConfigFrom({ ...base, model_type: 'qwen3', sliding_window: 8 }).layer_windows, [null, null, null, null]);
  assert.deepEqual(llamaConfigFrom({ ...base, model_type: 'qwen3', sliding_window: 8, use_sliding_window: true, max_window_layers: 3 }).layer_windows, [null, null, null, 8]);
  assert.equal(llamaConfigFrom({ ...base, model_type: 'qwen3' }).head_dim, 128);
  assert.equal(llamaConfigFrom({ ...base, model_type: 'qwen3', rope_parameters: { rope_type: 'default', rope_theta: 1e6 } }).rope.rope_theta, 1e6);
});
