// Chat templates: ChatML by default, the model's template from tokenizer_config.json (string or
// named list), bos/eos variables, and errors that keep the template's own message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHATML_TEMPLATE, ChatTemplate } from '../../src/tokenizers/chat_template.js';
import { GptuneError } from '../../src/util/errors.js';

const MSGS = [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }, { role: 'assistant', content: 'A' }];

test('ChatML renders as TRL sets it up, with and without the generation prompt', () => {
  const t = ChatTemplate.chatml();
  assert.equal(t.isDefault, true);
  assert.equal(t.source, CHATML_TEMPLATE);
  assert.equal(t.render(MSGS), '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n');
  assert.equal(t.render(MSGS.slice(0, 2), { addGenerationPrompt: true }),
    '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n');
});

test('bos_token and eos_token are template variables', () => {
  const t = new ChatTemplate('{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}');
  assert.equal(t.render(MSGS, { bosToken: '<s>', eosToken: '</s>' }), '<s>S</s>U</s>A</s>');
  assert.equal(t.render(MSGS), 'SUA', 'missing tokens render as empty strings');
});

test("tokenizer_config.json: a string, or the list's 'default'; none -> null; resolve falls back to ChatML", () => {
  assert.equal(ChatTemplate.fromTokenizerConfig({ chat_template: '{{ 1 }}' })!.render([]), '1');
  const list = { chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] };
  assert.equal(ChatTemplate.fromTokenizerConfig(list)!.render([]), 'D');
  assert.throws(() => ChatTemplate.fromTokenizerConfig({ chat_template: [{ name: 'rag', template: 'R' }] }),
    /tokenizer_config\.json: 'chat_template': chat_template lists templates \(rag\) but none named 'default'/);
  assert.equal(ChatTemplate.fromTokenizerConfig({ bos_token: '<s>' }), null);
  assert.equal(ChatTemplate.resolve({ jinja: 'J', tokenizerConfig: list }).render([]), 'J');
  assert.equal(ChatTemplate.resolve({ jinja: null, tokenizerConfig: list }).render([]), 'D');
  assert.equal(ChatTemplate.resolve({ tokenizerConfig: {} }).isDefault, true);
});

test('template errors keep the template message and name its origin', () => {
  assert.throws(() => new ChatTemplate('{% for m in messages %}{{ m.content }}', 'chat_template.jinja'), (e: unknown) => {
    assert.ok(e instanceof GptuneError);
    assert.equal(e.file, 'chat_template.jinja');
    assert.match(e.message, /^chat_template\.jinja: chat template does not parse: \S/);
    return true;
  });
  const t = new ChatTemplate("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}", 'gemma');
  assert.throws(() => t.render(MSGS), /^GptuneError: gemma: chat template error: .*System role not supported/);
  assert.equal(t.render(MSGS.slice(1)), '');
});
