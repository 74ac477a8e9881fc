// config.json / generation_config.json / tokenizer_config.json readers: typed values, unknown fields
// kept, and one-line errors naming the file and key for missing or mistyped values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigReader, ModelConfig, parseGenerationConfig, parseTokenizerConfig, readGenerationConfig, readModelConfig,
  readTokenizerConfig, selectChatTemplate,
} from '../../src/formats/hf_config.js';
import { GptuneError } from '../../src/util/errors.js';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const throwsNamed = (f: () => unknown, re: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof GptuneError && re.test(e.message) && !e.message.includes('\n') || assert.fail(String(e)));

test('config.json: typed accessors over the fixtures, unknown fields kept', () => {
  const gpt2 = readModelConfig(fixturePath('gpt2-tiny', 'config.json'));
  assert.equal(gpt2.modelType, 'gpt2');
  assert.deepEqual(gpt2.architectures, ['GPT2LMHeadModel']);
  assert.equal(gpt2.vocabSize, 512);
  assert.equal(gpt2.int('n_layer'), 2);
  assert.equal(gpt2.number('layer_norm_epsilon'), 1e-5);
  assert.deepEqual(gpt2.eosTokenIds, [0]);
  assert.equal(gpt2.tieWordEmbeddings, true);
  assert.equal(gpt2.optInt('n_inner'), undefined, 'null reads as absent');
  assert.deepEqual(gpt2.raw, JSON.parse(readFileSync(fixturePath('gpt2-tiny', 'config.json'), 'utf8')));
  const llama = readModelConfig(fixturePath('llama-tiny', 'config.json'));
  assert.equal(llama.modelType, 'llama');
  assert.equal(llama.int('num_key_value_heads'), 2);
  assert.equal(llama.tieWordEmbeddings, false);

  const c = new ModelConfig({ model_type: 'gpt2', n_embd: '64', eos_token_id: [1, 'x'] }, 'config.json');
  throwsNamed(() => c.int('n_embd'), /^config\.json: 'n_embd': expected an integer, got the string "64"$/);
  throwsNamed(() => c.int('n_layer'), /^config\.json: 'n_layer': missing \(expected an integer\)$/);
  assert.equal(c.int('n_layer', 12), 12);
  throwsNamed(() => c.eosTokenIds, /'eos_token_id': expected an integer or a list of integers, got an array of 2/);
  throwsNamed(() => new ModelConfig({}, 'x/config.json').modelType, /^x\/config\.json: 'model_type': missing \(expected a string\)$/);
  throwsNamed(() => new ConfigReader({ f: 1.5 }, 'c.json').int('f'), /'f': expected an integer, got the number 1\.5/);
  throwsNamed(() => new ConfigReader({ b: 'yes' }, 'c.json').bool('b'), /'b': expected true or false, got the string "yes"/);
});

test('generation_config.json: eos as int or list, sampling fields, ranges checked', () => {
  const g = parseGenerationConfig({ eos_token_id: [128001, 128009], bos_token_id: 128000, do_sample: true, temperature: 0.6, top_p: 0.9, top_k: 50, max_new_tokens: 64, transformers_version: '4.45' });
  assert.deepEqual(g.eosTokenIds, [128001, 128009]);
  assert.equal(g.bosTokenId, 128000);
  assert.equal(g.padTokenId, null);
  assert.equal(g.doSample, true);
  assert.equal(g.temperature, 0.6);
  assert.equal(g.topP, 0.9);
  assert.equal(g.topK, 50);
  assert.equal(g.maxNewTokens, 64);
  assert.equal(g.maxLength, undefined);
  assert.equal(g.raw.transformers_version, '4.45');
  assert.deepEqual(parseGenerationConfig({ eos_token_id: 50256, pad_token_id: 50256, max_length: 1024, repetition_penalty: 1.1 }).eosTokenIds, [50256]);
  assert.deepEqual(parseGenerationConfig({}).eosTokenIds, []);
  throwsNamed(() => parseGenerationConfig({ eos_token_id: '2' }), /^generation_config\.json: 'eos_token_id': expected an integer or a list of integers, got the string "2"$/);
  throwsNamed(() => parseGenerationConfig({ temperature: 'hot' }), /'temperature': expected a number, got the string "hot"/);
  throwsNamed(() => parseGenerationConfig({ top_p: 1.5 }), /'top_p': expected a number in \(0, 1\], got 1\.5/);
  throwsNamed(() => parseGenerationConfig({ temperature: -1 }), /'temperature': expected a number >= 0, got -1/);
  throwsNamed(() => parseGenerationConfig({ do_sample: 1 }), /'do_sample': expected true or false, got the integer 1/);
  const dir = tempDir('cfg-');
  writeFileSync(join(dir, 'generation_config.json'), '{"eos_token_id": 2,}');
  throwsNamed(() => readGenerationConfig(join(dir, 'generation_config.json')), /generation_config\.json: cannot read: .*JSON/);
});

test('tokenizer_config.json: special tokens as strings or {content}, add_bos/eos, chat templates', () => {
  const c = parseTokenizerConfig({
    add_bos_token: true, add_eos_token: false,
    bos_token: { __type: 'AddedToken', content: '<s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
    eos_token: '</s>', pad_token: null, model_max_length: 1e30, tokenizer_class: 'LlamaTokenizer',
    chat_template: [{ name: 'default', template: '{{ messages }}' }, { name: 'tool_use', template: 'T' }],
  });
  assert.equal(c.addBosToken, true);
  assert.equal(c.addEosToken, false);
  assert.equal(c.bosToken, '<s>');
  assert.equal(c.eosToken, '</s>');
  assert.equal(c.padToken, null);
  assert.equal(c.unkToken, undefined);
  assert.equal(c.modelMaxLength, 1e30);
  assert.equal(c.tokenizerClass, 'LlamaTokenizer');
  assert.equal(selectChatTemplate(c), '{{ messages }}');
  assert.equal(selectChatTemplate(c, 'tool_use'), 'T');
  throwsNamed(() => selectChatTemplate(c, 'rag'), /'chat_template': no template named 'rag' \(the file has 'default', 'tool_use'\)/);
  const plain = parseTokenizerConfig({ chat_template: '{% for m in messages %}{% endfor %}' });
  assert.equal(selectChatTemplate(plain), '{% for m in messages %}{% endfor %}');
  assert.equal(plain.addBosToken, undefined);
  assert.equal(selectChatTemplate(parseTokenizerConfig({})), null);
  throwsNamed(() => parseTokenizerConfig({ eos_token: 7 }), /^tokenizer_config\.json: 'eos_token': expected a string or \{"content": \.\.\.\}, got the integer 7$/);
  throwsNamed(() => parseTokenizerConfig({ chat_template: [{ name: 'default' }] }), /'chat_template': entry 0: expected \{"name": \.\.\., "template": \.\.\.\}/);
  throwsNamed(() => parseTokenizerConfig({ chat_template: 3 }), /'chat_template': expected a string or a list/);
  throwsNamed(() => parseTokenizerConfig({ add_bos_token: 'true' }), /'add_bos_token': expected true or false/);
  const dir = tempDir('cfg-');
  writeFileSync(join(dir, 'tokenizer_config.json'), '[1]');
  throwsNamed(() => readTokenizerConfig(join(dir, 'tokenizer_config.json')), /tokenizer_config\.json: expected a JSON object, got an array of 1/);
});

test('config.json: per-layer-type RoPE (Gemma 3) in the 5.x layout and from 4.x rope_local_base_freq', () => {
  const types = ['sliding_attention', 'full_attention'];
  const defaults = { sliding_attention: 10000, full_attention: 1000000 };
  const v5 = new ModelConfig({
    model_type: 'gemma3_text', max_position_embeddings: 32768,
    rope_parameters: { sliding_attention: { rope_type: 'default', rope_theta: 10000 }, full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1000000 } },
  }, 'g/config.json');
  const want = { sliding_attention: { rope_type: 'default', rope_theta: 10000 }, full_attention: { rope_type: 'linear', rope_theta: 1000000, factor: 8 } };
  assert.deepEqual(v5.ropeParametersPerLayerType(types, defaults), want);
  const v4 = new ModelConfig({ model_type: 'gemma3_text', rope_theta: 1000000, rope_local_base_freq: 10000, rope_scaling: { rope_type: 'linear', factor: 8 } }, 'g/config.json');
  assert.deepEqual(v4.ropeParametersPerLayerType(types, defaults, { sliding_attention: 'rope_local_base_freq' }), want);
  const bad = new ModelConfig({ rope_parameters: { sliding_attention: { rope_type: 'default', rope_theta: 1 } } }, 'g/config.json');
  throwsNamed(() => bad.ropeParametersPerLayerType(types, defaults), /^g\/config\.json: 'rope_parameters': expected an object for layer type 'full_attention', got nothing$/);
  const dt = (raw: Record<string, unknown>) => new ModelConfig(raw, 'c.json').storedDtype;
  assert.deepEqual(dt({ dtype: 'bfloat16', torch_dtype: 'float32' }), { value: 'bfloat16', key: 'dtype' }, 'dtype wins, as in transformers 5');
  assert.deepEqual(dt({ torch_dtype: 'float16' }), { value: 'float16', key: 'torch_dtype' });
});
