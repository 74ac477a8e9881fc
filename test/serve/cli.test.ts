// `gptune chat` through its stdin mode and `gptune serve` as a process: the greeting names where it
// listens, and SIGTERM lets the stream in flight finish before exiting 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../../src/generate/generate.js';
import { encodeChat, loadServedModel } from '../../src/serve/served_model.js';
import { BASE_MODEL, BIN } from './helpers.js';
import { tempDir } from '../helpers/temp_dir.js';

test('gptune chat reads a conversation from stdin: replies equal greedy generate, /save and /reset work', () => {
  const file = join(tempDir('chat-'), 'chat.json');
  const input = `How long is the warranty?\n/save ${file}\n/reset\nHello\n/exit\nnever read\n`;
  const r = spawnSync(process.execPath, [BIN, 'chat', '--model', BASE_MODEL, '--system', 'You are Lumen support.', '--max-tokens', '6'], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const served = loadServedModel({ modelDir: BASE_MODEL });
  const tok = served.tokenizer!;
  const reply = (messages: { role: string; content: string }[]) => generate(served.model, encodeChat(served, messages), {
    maxNewTokens: 6, eosIds: served.chatStopIds, stopStrings: served.chatStopStrings, decode: (ids) => tok.decode(ids),
  }).text!;
  const sys = { role: 'system', content: 'You are Lumen support.' };
  const first = reply([sys, { role: 'user', content: 'How long is the warranty?' }]);
  const second = reply([sys, { role: 'user', content: 'Hello' }]); // after /reset: a fresh conversation
  assert.equal(r.stdout, `${first}\n${second}\n`);
  assert.match(r.stderr, /\(\d+ tokens, [\d.]+ tokens\/s/);
  assert.match(r.stderr, /conversation cleared/);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).messages, [sys, { role: 'user', content: 'How long is the warranty?' }, { role: 'assistant', content: first }]);
});

test('gptune serve binds loopback and says so; SIGTERM finishes the stream in flight and exits 0', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--model', BASE_MODEL, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+) \(loopback only/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`serve exited early: ${err}`)));
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const res = await fetch(url + '/v1/completions', { method: 'POST', body: JSON.stringify({ model: 'base-model', prompt: 'Hello', max_tokens: 24, temperature: 0, stream: true }) });
  const reader = res.body!.getReader();
  let body = '';
  const first = await reader.read();
  body += new TextDecoder().decode(first.value);
  child.kill('SIGTERM');
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    body += new TextDecoder().decode(value);
  }
  assert.match(body, /"finish_reason":"length"/);
  assert.ok(body.endsWith('data: [DONE]\n\n'));
  assert.equal(await exited, 0, err);
  assert.match(err, /SIGTERM/);
});

test('gptune generate --json says why it stopped, and says so when the context cut --max-new-tokens', () => {
  const ids = Array.from({ length: 253 }, (_, i) => 10 + (i % 50)).join(',');
  const r = spawnSync(process.execPath, [BIN, 'generate', '--model', BASE_MODEL, '--prompt-ids', ids, '--max-new-tokens', '10', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.ids.length, 3);
  assert.equal(out.finish_reason, 'context');
  assert.match(r.stderr, /context \(256 tokens\) after 3 new tokens/);
});
