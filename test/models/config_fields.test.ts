// Every config field of each supported architecture in transformers 5 (test/fixtures/hf5/config_fields.json,
// from the library's config classes) is used, listed as not changing the numbers, or refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LLAMA_CONFIG_FIELDS, llamaConfigFrom } from '../../src/models/llama.js';
import { GPT2_CONFIG_FIELDS, gpt2ConfigFrom } from '../../src/models/gpt2.js';
import { fixturePath } from '../helpers/fixtures.js';

const fields = JSON.parse(readFileSync(fixturePath('hf5', 'config_fields.json'), 'utf8')) as Record<string, string[]>;
const llamaBase = JSON.parse(readFileSync(fixturePath('hf5', 'llama-tiny', 'config.json'), 'utf8'));
const gpt2Base = JSON.parse(readFileSync(fixturePath('hf5', 'gpt2-tiny', 'config.json'), 'utf8'));

// A value each refused field may not take (it would change the numbers).
const REFUSED_EXAMPLES: Record<string, unknown> = {
  hidden_act: 'gelu', attention_dropout: 0.1,
  partial_rotary_factor: 0.5, scale_attn_by_inverse_layer_idx: true, reorder_and_upcast_attn: true, add_cross_attention: true,
};

// The sliding-window fields act together: use_sliding_window switches Qwen2's on (Mistral needs no
// switch), max_window_layers or layer_types pick the layers. Each: [a config, the same with this field changed].
const WINDOW_ON = { use_sliding_window: true, sliding_window: 16, max_window_layers: 0 };
function windowPair(key: string, layers: number): [Record<string, unknown>, Record<string, unknown>] | null {
  switch (key) {
    case 'use_sliding_window': return [{ ...WINDOW_ON, use_sliding_window: false }, WINDOW_ON];
    case 'sliding_window': return [WINDOW_ON, { ...WINDOW_ON, sliding_window: 32 }];
    case 'max_window_layers': return [WINDOW_ON, { ...WINDOW_ON, max_window_layers: 1 }];
    case 'layer_types': return [WINDOW_ON, { ...WINDOW_ON, layer_types: Array.from({ length: layers }, (_, i) => (i ? 'full_attention' : 'sliding_attention')) }];
    default: return null;
  }
}

/** A different, valid value for a used field. */
function mutate(key: string, v: unknown): unknown {
  if (key === 'rope_parameters') return { rope_type: 'default', rope_theta: 500000 };
  if (key === 'activation_function') return 'gelu_pytorch_tanh';
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v * 2 : v + 0.1;
  if (v === null) return 96; // n_inner
  return assert.fail(`no mutation for ${key}`);
}

const ARCHS = [
  { type: 'llama', policy: LLAMA_CONFIG_FIELDS, base: llamaBase, read: llamaConfigFrom },
  { type: 'qwen2', policy: LLAMA_CONFIG_FIELDS, base: { ...llamaBase, model_type: 'qwen2', attention_bias: undefined, mlp_bias: undefined }, read: llamaConfigFrom },
  { type: 'mistral', policy: LLAMA_CONFIG_FIELDS, base: { ...llamaBase, model_type: 'mistral', attention_bias: undefined, mlp_bias: undefined }, read: llamaConfigFrom },
  { type: 'gpt2', policy: GPT2_CONFIG_FIELDS, base: gpt2Base, read: gpt2ConfigFrom },
];

for (const { type, policy, base, read } of ARCHS) {
  test(`${type}: each of transformers 5's config fields is used, neutral or refused`, () => {
    const lists = [policy.used, policy.neutral, policy.refused] as readonly (readonly string[])[];
    for (const key of fields[type]) {
      const n = lists.filter((l) => l.includes(key)).length;
      assert.equal(n, 1, `${type}: field '${key}' must be in exactly one of used / neutral / refused (is in ${n})`);
    }
    const resolved = JSON.stringify(read(base, 'config.json'));
    for (const key of fields[type]) {
      const pair = windowPair(key, base.num_hidden_layers);
      if ((policy.used as readonly string[]).includes(key) && pair) {
        assert.notEqual(JSON.stringify(read({ ...base, ...pair[1] }, 'config.json')), JSON.stringify(read({ ...base, ...pair[0] }, 'config.json')),
          `${type}: changing used field '${key}' (sliding windows on) changes nothing`);
      } else if ((policy.used as readonly string[]).includes(key)) {
        const changed = JSON.stringify(read({ ...base, [key]: mutate(key, base[key]) }, 'config.json'));
        assert.notEqual(changed, resolved, `${type}: changing used field '${key}' changes nothing`);
      } else if ((policy.neutral as readonly string[]).includes(key)) {
        const v = base[key];
        const other = typeof v === 'boolean' ? !v : typeof v === 'number' ? v + 1 : 7;
        assert.equal(JSON.stringify(read({ ...base, [key]: other }, 'config.json')), resolved, `${type}: neutral field '${key}' changed the config`);
      } else {
        assert.ok(key in REFUSED_EXAMPLES, `no refused example for '${key}'`);
        assert.throws(() => read({ ...base, [key]: REFUSED_EXAMPLES[key] }, 'dir/config.json'),
          (e: Error) => e.message.startsWith(`dir/config.json: '${key}'`) || assert.fail(`${type} '${key}': ${e.message}`));
      }
    }
  });
}

test('rope: unknown rope_type and partial rotary are refused naming the file and key, in both layouts', () => {
  assert.throws(() => llamaConfigFrom({ ...llamaBase, rope_parameters: { rope_type: 'longrope', rope_theta: 1e4 } }, 'm/config.json'),
    /^GptuneError: m\/config\.json: 'rope_parameters': rope_type 'longrope' is not supported \(supported: default, linear, dynamic, llama3, yarn\)$/);
  const v4 = { ...llamaBase, rope_parameters: undefined, rope_theta: 1e4, rope_scaling: { type: 'su', factor: 2 } };
  assert.throws(() => llamaConfigFrom(v4, 'm/config.json'), /'rope_scaling': rope_type 'su' is not supported/);
  assert.throws(() => llamaConfigFrom({ ...llamaBase, rope_parameters: { rope_type: 'default', rope_theta: 1e4, partial_rotary_factor: 0.5 } }, 'm/config.json'),
    /'rope_parameters': partial_rotary_factor 0\.5 is not supported/);
});

test('rope: transformers precedence (rope_scaling replaces rope_parameters; rope_theta inside wins; "type" is rope_type)', () => {
  const rope = (extra: Record<string, unknown>) => llamaConfigFrom({ ...llamaBase, rope_parameters: undefined, ...extra }).rope;
  assert.deepEqual(rope({ rope_theta: 500000 }), { rope_type: 'default', rope_theta: 500000 });
  assert.deepEqual(rope({}), { rope_type: 'default', rope_theta: 10000 }, 'LlamaConfig.default_theta');
  assert.deepEqual(rope({ rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 7 }, rope_theta: 9 }), { rope_type: 'linear', rope_theta: 7, factor: 2 });
  assert.deepEqual(rope({ rope_parameters: { rope_type: 'default', rope_theta: 7 }, rope_scaling: { type: 'linear', factor: 3 }, rope_theta: 9 }),
    { rope_type: 'linear', rope_theta: 9, factor: 3 });
  assert.deepEqual(rope({ rope_parameters: { rope_type: 'default', rope_theta: 7 }, rope_scaling: null }), { rope_type: 'default', rope_theta: 7 });
});
