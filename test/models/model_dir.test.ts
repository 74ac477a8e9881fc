// openModelDir: one reader gives the model, dtype, tokenizer, chat template (one rule for lists), EOS ids,
// BOS/EOS text and sampling settings (user > generation_config.json > defaults, each with its source).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModelDir } from '../../src/models/model_dir.js';
import { generationDefaults, SAMPLING_DEFAULTS } from '../../src/models/generation_defaults.js';
import { parseGenerationConfig } from '../../src/formats/hf_config.js';
import { stringifyTokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { gpt2TokenizerJson } from '../../src/tokenizers/gpt2.js';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

function modelDir(gen: Record<string, unknown> | null, tokConfig: Record<string, unknown> | null): string {
  const d = tempDir('mdir-');
  cpSync(fixturePath('hf5', 'gpt2-tiny'), d, { recursive: true });
  if (gen) writeFileSync(join(d, 'generation_config.json'), JSON.stringify(gen));
  else rmSync(join(d, 'generation_config.json'));
  if (tokConfig) {
    writeFileSync(join(d, 'tokenizer.json'), stringifyTokenizerJson(gpt2TokenizerJson()));
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify(tokConfig));
  }
  return d;
}

test('openModelDir: EOS list from generation_config.json, else config.json; BOS/EOS text; dtype; template', () => {
  const d = modelDir({ eos_token_id: [50256, 7], do_sample: true, temperature: 0.6 }, { eos_token: '<|endoftext|>', chat_template: 'T' });
  try {
    const m = openModelDir(d);
    assert.deepEqual(m.eosIds, [50256, 7]);
    assert.equal(m.eosText, '<|endoftext|>');
    assert.equal(m.dtype, 'F32');
    assert.equal(m.chatTemplate, 'T');
    assert.equal(m.model.vocabSize, 512);
    const s = m.sampling({ topP: 0.9 });
    assert.deepEqual(s.values, { maxNewTokens: 50, temperature: 0.6, topK: 50, topP: 0.9, repetitionPenalty: 1 });
    assert.deepEqual(s.from, { maxNewTokens: 'default', temperature: 'generation_config.json', topK: 'generation_config.json', topP: 'user', repetitionPenalty: 'default' });
  } finally { rmSync(d, { recursive: true, force: true }); }
  const e = modelDir(null, null);
  try {
    const m = openModelDir(e);
    assert.deepEqual(m.eosIds, [0], "config.json's eos_token_id");
    assert.equal(m.tok, null);
    assert.equal(m.eosText, null);
    assert.deepEqual(m.sampling().values, SAMPLING_DEFAULTS);
  } finally { rmSync(e, { recursive: true, force: true }); }
});

test('chat templates given as a list: the default one, else an error naming the available names', () => {
  const ok = modelDir(null, { chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] });
  const bad = modelDir(null, { chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'rag', template: 'R' }] });
  try {
    assert.equal(openModelDir(ok).chatTemplate, 'D', "'default', not the first");
    assert.throws(() => openModelDir(bad), /tokenizer_config\.json: 'chat_template': no template named 'default' \(the file has 'tool_use', 'rag'\)/);
  } finally {
    rmSync(ok, { recursive: true, force: true });
    rmSync(bad, { recursive: true, force: true });
  }
});

test('generationDefaults: greedy unless do_sample; repetition_penalty and max_new_tokens apply either way; the user wins', () => {
  const greedy = generationDefaults(parseGenerationConfig({ temperature: 0.6, top_p: 0.9, repetition_penalty: 1.1, max_new_tokens: 9 }));
  assert.deepEqual(greedy.values, { maxNewTokens: 9, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1.1 });
  assert.equal(greedy.from.temperature, 'default');
  const sampled = generationDefaults(parseGenerationConfig({ do_sample: true, top_k: 20 }), { temperature: 0 });
  assert.deepEqual(sampled.values, { maxNewTokens: 50, temperature: 0, topK: 20, topP: 1, repetitionPenalty: 1 });
  assert.deepEqual(sampled.from, { maxNewTokens: 'default', temperature: 'user', topK: 'generation_config.json', topP: 'generation_config.json', repetitionPenalty: 'default' });
});
