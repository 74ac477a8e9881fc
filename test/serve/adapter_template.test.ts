// An adapter trained on chat rows carries the template it was trained with (chat_template.jinja):
// `serve` renders requests for that adapter with it, and stops at its end-of-turn marker; the base
// and adapters without one keep the base's template.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { chatFormat, encodeChat } from '../../src/serve/served_model.js';
import { BASE_MODEL, baseAdapter } from './helpers.js';
import { tempDir } from '../helpers/temp_dir.js';

// A template unlike the base's ChatML fallback, ending each turn with Llama 3's marker text.
const OWN = "{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}### assistant:{% endif %}";
let server: RunningServer;
let client: OpenAI;

before(async () => {
  const withTemplate = join(tempDir('adapter-tpl-'), 'chatty');
  cpSync(baseAdapter(), withTemplate, { recursive: true });
  writeFileSync(join(withTemplate, 'chat_template.jinja'), OWN);
  server = await startServer({ modelDir: BASE_MODEL, adapters: [{ name: 'plain', dir: baseAdapter() }, { name: 'chatty', dir: withTemplate }], port: 0 });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

test('each adapter chats in its own template; the base and a template-less adapter in the base\'s', async () => {
  const served = server.served;
  const messages = [{ role: 'user' as const, content: 'Where is my order?' }];
  const tok = served.tokenizer!;
  assert.equal(chatFormat(served, 1).template.source, OWN);
  assert.equal(chatFormat(served, 0).template.source, served.template.source, 'plain falls back to the base');
  assert.equal(tok.decode(encodeChat(served, messages, 1)), '### user: Where is my order?<|eot_id|>### assistant:');
  assert.ok(chatFormat(served, 1).stopStrings.includes('<|eot_id|>'), 'the adapter template\'s marker ends its turns');
  assert.ok(!chatFormat(served, -1).stopStrings.includes('<|eot_id|>'));
  assert.notDeepEqual(encodeChat(served, messages, 1), encodeChat(served, messages, -1));
  // Through the API: the prompt counted for each model is the one its own template renders.
  for (const [model, adapter] of [['base-model', -1], ['plain', 0], ['chatty', 1]] as const) {
    const r = await client.chat.completions.create({ model, messages, max_tokens: 2, temperature: 0 });
    assert.equal(r.usage!.prompt_tokens, encodeChat(served, messages, adapter).length, model);
  }
});
