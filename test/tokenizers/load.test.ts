// Finding a model directory's tokenizer: the built-in GPT-2 saved and reloaded from its files,
// tokenizer_config.json's special tokens and BOS policy, chat templates, and errors that name the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinTokenizer, loadTokenizerDir, resolveTokenizer } from '../../src/tokenizers/load.js';
import { gpt2TokenizerJson } from '../../src/tokenizers/gpt2.js';
import { stringifyTokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { saveVocabMerges } from '../../src/tokenizers/vocab_merges.js';
import { textGenerator } from './text_gen.js';
import { tokenizerVariants } from './variants.js';
import { tempDir } from '../helpers/temp_dir.js';

const tmp = () => tempDir('load-');

test('the built-in gpt2 saves as HF files that load back to the same tokenizer', () => {
  const builtin = builtinTokenizer('gpt2');
  assert.equal(resolveTokenizer('gpt2').tokenizer, builtin.tokenizer);
  const dir = tmp();
  for (const [name, content] of Object.entries(builtin.files)) writeFileSync(join(dir, name), content);
  const loaded = loadTokenizerDir(dir)!;
  assert.equal(loaded.tokenizer.eosId, 50256);
  assert.equal(loaded.tokenizer.bosId, 50256);
  assert.equal(loaded.tokenizer.vocabSize, 50257);
  assert.equal(loaded.chatTemplate, null);
  assert.equal(typeof loaded.tokenizer.fingerprint, 'string');
  const gen = textGenerator(21);
  for (let i = 0; i < 100; i++) {
    const s = gen();
    assert.deepEqual(loaded.tokenizer.encode(s), builtin.tokenizer.encode(s), JSON.stringify(s));
  }
  // vocab.json + merges.txt alone (GPT-2's original files) load too.
  const vm = tmp();
  saveVocabMerges(vm, gpt2TokenizerJson());
  const fromVm = resolveTokenizer(vm);
  assert.deepEqual(fromVm.tokenizer.encode('Hello world<|endoftext|>'), [15496, 995, 50256]);
});

test('tokenizer_config.json decides special tokens, BOS policy and the chat template', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'tokenizer.json'), stringifyTokenizerJson(tokenizerVariants(gpt2TokenizerJson()).llama3));
  const config = {
    bos_token: '<|begin_of_text|>', eos_token: { content: '<|eot_id|>', special: true }, pad_token: null,
    chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T' }],
  };
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  const t = loadTokenizerDir(dir)!;
  assert.equal(t.tokenizer.bosId, 50257);
  assert.equal(t.tokenizer.eosId, 50259);
  assert.equal(t.tokenizer.padId, null);
  assert.equal(t.chatTemplate, 'D');
  assert.equal(t.tokenizer.encode('hi')[0], 50257, 'the template adds BOS');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, add_bos_token: false }));
  assert.notEqual(loadTokenizerDir(dir)!.tokenizer.encode('hi')[0], 50257, 'add_bos_token false wins over the template');
  writeFileSync(join(dir, 'chat_template.jinja'), 'J');
  assert.equal(loadTokenizerDir(dir)!.chatTemplate, 'J', 'chat_template.jinja wins');

  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: 5 }));
  assert.throws(() => loadTokenizerDir(dir), /tokenizer_config\.json: 'eos_token': expected a string or \{"content": \.\.\.\}, got the integer 5/);
  writeFileSync(join(dir, 'tokenizer_config.json'), '{');
  assert.throws(() => loadTokenizerDir(dir), /tokenizer_config\.json: cannot read/);
});

test('directories without tokenizer files and unknown names are reported', () => {
  const empty = tmp();
  mkdirSync(join(empty, 'sub'));
  assert.equal(loadTokenizerDir(empty), null);
  assert.throws(() => resolveTokenizer(empty), /no tokenizer\.json or vocab\.json \+ merges\.txt here/);
  assert.throws(() => resolveTokenizer('gpt5'), /unknown built-in tokenizer 'gpt5' \(built in: gpt2\)/);
});
