// The server through the official openai SDK: chat and completions, streaming, adapters by name,
// errors as the SDK's exception classes, concurrent streams; greedy output equals generate()'s ids.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { generate } from '../../src/generate/generate.js';
import { openModel } from '../../src/run/model.js';
import { encodeChat } from '../../src/serve/served_model.js';
import { BASE_MODEL, baseAdapter } from './helpers.js';

let server: RunningServer;
let client: OpenAI;
const PROMPTS = ['Customer: my order is late\nAgent:', 'Customer: how do I reset my password?\nAgent:', 'The warranty', 'Hello'];

before(async () => {
  server = await startServer({ modelDir: BASE_MODEL, adapters: [{ name: 'support', dir: baseAdapter() }], port: 0, maxQueue: 32 });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

/** generate()'s greedy ids for a prompt, on the base or with the adapter applied. */
const setups = new Map<boolean, ReturnType<typeof openModel>>();
function reference(prompt: number[], maxNew: number, adapter: boolean, eosIds?: number[], stops: string[] = []) {
  if (!setups.has(adapter)) setups.set(adapter, openModel(BASE_MODEL, { adapter: adapter ? baseAdapter() : undefined }));
  const setup = setups.get(adapter)!;
  const tok = setup.tok!.tokenizer;
  return generate(setup.model, prompt, { maxNewTokens: maxNew, temperature: 0, eosIds: eosIds ?? setup.eosIds, stopStrings: stops, decode: (ids) => tok.decode(ids) });
}

test('GET /v1/models lists the base model and each adapter', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['base-model', 'support']);
});

test('completions: greedy text and usage equal generate() for the base and the adapter', async () => {
  const tok = server.served.tokenizer!;
  for (const [model, adapter] of [['base-model', false], ['support', true]] as const) {
    const prompt = tok.encode(PROMPTS[0]);
    const want = reference(prompt, 12, adapter);
    const r = await client.completions.create({ model, prompt: PROMPTS[0], max_tokens: 12, temperature: 0 });
    assert.equal(r.choices[0].text, want.text, model);
    assert.deepEqual(tok.encode(PROMPTS[0] + r.choices[0].text).slice(prompt.length), want.ids, model);
    assert.equal(r.choices[0].finish_reason, want.finishReason === 'stop' ? 'stop' : 'length');
    assert.equal(r.usage!.prompt_tokens, prompt.length);
    // Token ids in, and logprobs: each token's logprob is at most 0 and the top alternative's is the largest.
    const byIds = await client.completions.create({ model, prompt: prompt, max_tokens: 12, temperature: 0, logprobs: 2 });
    assert.equal(byIds.choices[0].text, want.text);
    const lp = byIds.choices[0].logprobs!;
    assert.equal(lp.tokens!.length, want.ids.length);
    lp.token_logprobs!.forEach((v, i) => { assert.ok(v <= 0); assert.ok(Math.max(...Object.values(lp.top_logprobs![i])) <= v + 1e-9); });
  }
  const base = await client.completions.create({ model: 'base-model', prompt: PROMPTS[0], max_tokens: 12, temperature: 0 });
  const adapted = await client.completions.create({ model: 'support', prompt: PROMPTS[0], max_tokens: 12, temperature: 0 });
  assert.notEqual(base.choices[0].text, adapted.choices[0].text, 'the adapter changes the output');
});

test('chat: the template renders the prompt, the stream equals the plain reply, usage comes last', async () => {
  const messages = [{ role: 'system' as const, content: 'You are Lumen support.' }, { role: 'user' as const, content: 'How long is the warranty?' }];
  const prompt = encodeChat(server.served, messages);
  const want = reference(prompt, 16, true, server.served.chatStopIds, server.served.chatStopStrings);
  const r = await client.chat.completions.create({ model: 'support', messages, max_tokens: 16, temperature: 0 });
  assert.equal(r.choices[0].message.content, want.text);
  assert.equal(r.usage!.prompt_tokens, prompt.length);
  assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
  const stream = await client.chat.completions.create({ model: 'support', messages, max_tokens: 16, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '', finish: string | null = null, usage = null, roles = 0;
  for await (const chunk of stream) {
    if (chunk.usage) { usage = chunk.usage; assert.equal(chunk.choices.length, 0); continue; }
    const c = chunk.choices[0];
    if (c.delta.role) roles++;
    text += c.delta.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(roles, 1);
  assert.equal(text, want.text);
  assert.equal(finish, r.choices[0].finish_reason);
  assert.deepEqual(usage, r.usage);
});

test('stop strings end the reply, are never sent, and give finish_reason stop', async () => {
  const tok = server.served.tokenizer!;
  const full = reference(tok.encode(PROMPTS[0]), 20, false).text!;
  // A stop string that spans a token boundary: the middle of the greedy reply.
  const stop = full.slice(5, 12);
  const r = await client.completions.create({ model: 'base-model', prompt: PROMPTS[0], max_tokens: 20, temperature: 0, stop: [stop] });
  assert.equal(r.choices[0].text, full.slice(0, full.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const stream = await client.completions.create({ model: 'base-model', prompt: PROMPTS[0], max_tokens: 20, temperature: 0, stop, stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text);
});

test('8 concurrent streams over base and adapter are each what one request alone gives', async () => {
  const jobs = Array.from({ length: 8 }, (_, i) => ({ model: i % 2 ? 'support' : 'base-model', prompt: PROMPTS[i % PROMPTS.length], max_tokens: 4 + i }));
  const alone = [];
  for (const j of jobs) alone.push((await client.completions.create({ ...j, temperature: 0 })).choices[0].text);
  const together = await Promise.all(jobs.map(async (j) => {
    const s = await client.completions.create({ ...j, temperature: 0, stream: true });
    let t = '';
    for await (const c of s) t += c.choices[0]?.text ?? '';
    return t;
  }));
  assert.deepEqual(together, alone);
});

test('sampling with a seed repeats; temperature and top_p are honoured', async () => {
  const req = { model: 'base-model', prompt: 'Hello', max_tokens: 6, temperature: 1.2, top_p: 0.9, seed: 7 };
  const a = await client.completions.create(req), b = await client.completions.create(req);
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('errors surface as the SDK\'s exception classes with OpenAI-shaped bodies', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }),
    (e: unknown) => e instanceof OpenAI.NotFoundError && /nope/.test(e.message) && (e.error as { code: string }).code === 'model_not_found');
  await assert.rejects(client.completions.create({ model: 'base-model', prompt: 'hi', max_tokens: 1000 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /max_tokens \(1000\)/.test(e.message) && /context of 256/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'base-model', messages: [{ role: 'user', content: 'hi' }], n: 2 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'n');
  await assert.rejects(client.chat.completions.create({ model: 'base-model', messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' as unknown as number }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  const raw = async (body: string, headers: Record<string, string> = {}) => {
    const r = await fetch(server.url + '/v1/chat/completions', { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: r.status, body: await r.json() as { error: Record<string, unknown> } };
  };
  const bad = await raw('{"model": "base-model", "messages": [');
  assert.equal(bad.status, 400);
  assert.deepEqual(Object.keys(bad.body.error).sort(), ['code', 'message', 'param', 'type']);
  const big = await raw(JSON.stringify({ model: 'base-model', messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }));
  assert.equal(big.status, 413);
  const health = await fetch(server.url + '/health');
  assert.equal(health.status, 200, 'the server is still up');
});

test('a full queue answers 429; --api-key refuses a wrong or missing key with 401', async () => {
  const s = await startServer({ modelDir: BASE_MODEL, served: server.served, port: 0, maxBatch: 1, maxQueue: 1, apiKey: 'sekret' });
  try {
    const good = new OpenAI({ baseURL: s.url + '/v1', apiKey: 'sekret', maxRetries: 0 });
    const wrong = new OpenAI({ baseURL: s.url + '/v1', apiKey: 'guess', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
    const missing = await fetch(s.url + '/v1/models');
    assert.equal(missing.status, 401);
    // One runs, one waits, the next is refused.
    const req = { model: 'base-model', prompt: 'Hello', max_tokens: 120, temperature: 0 };
    const running = good.completions.create(req), waiting = good.completions.create(req);
    // Send the third once the second is queued (the server's own gauge says so), not after a guessed delay.
    const queued = async () => /gptune_queue_length 1\b/.test(await (await fetch(s.url + '/metrics')).text());
    for (let i = 0; i < 500 && !(await queued()); i++) await new Promise((r) => setTimeout(r, 2));
    await assert.rejects(good.completions.create(req), OpenAI.RateLimitError);
    await Promise.all([running, waiting]);
    const metrics = await (await fetch(s.url + '/metrics')).text();
    assert.match(metrics, /gptune_requests_total\{endpoint="\/v1\/completions",status="429"\} 1/);
    assert.match(metrics, /gptune_generation_tokens_total \d+/);
    assert.match(metrics, /gptune_queue_length 0/);
  } finally {
    await s.close();
  }
});

test('a client that disconnects mid-stream cancels its sequence', async () => {
  const t0 = server.scheduler.tokensGenerated;
  const stream = await client.completions.create({ model: 'base-model', prompt: 'Hello', max_tokens: 200, temperature: 0, stream: true });
  let n = 0;
  for await (const _ of stream) if (++n === 3) break; // breaking out aborts the HTTP request
  await server.scheduler.whenIdle();
  assert.equal(server.scheduler.active, 0);
  assert.ok(server.scheduler.tokensGenerated - t0 < 100, `${server.scheduler.tokensGenerated - t0} tokens generated after the client left`);
  const metrics = await (await fetch(server.url + '/metrics')).text();
  assert.match(metrics, /gptune_requests_total\{endpoint="\/v1\/completions",status="499"\} 1/);
});
