// The studio's run launching and checkpoint serving without a browser: the form's values become the
// same options through the real CLI parser (no drift), a run whose options clash shows as failed with
// its error, cross-site posts are refused, and a full fine-tune's checkpoint answers through /v1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import OpenAI from 'openai';
import { startStudio } from '../../src/serve/studio/server.js';
import { formSchema, readForm, toArgs } from '../../src/serve/studio/option_form.js';
import { TRAIN_FORM_OMIT } from '../../src/serve/studio/launcher.js';
import { TRAIN_OPTIONS } from '../../src/run/train_options.js';
import { resolveOptions } from '../../src/run/option.js';
import { addOptions, readOptions } from '../../src/cli/options.js';
import { encodeChat, loadServedModel } from '../../src/serve/served_model.js';
import { generate } from '../../src/generate/generate.js';
import { BASE_MODEL, BIN } from '../serve/helpers.js';
import { tempDir } from '../helpers/temp_dir.js';

const SUPPORT = join(process.cwd(), 'data', 'support', 'train.jsonl');
const post = (url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(url, { method: 'POST', headers, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() as any }));

test('the train form has every option but those the page sets, and its values reach train as the CLI parses them', () => {
  const names = formSchema(TRAIN_OPTIONS, TRAIN_FORM_OMIT).map((f) => f.name);
  assert.deepEqual(names, Object.keys(TRAIN_OPTIONS).filter((n) => !(TRAIN_FORM_OMIT as readonly string[]).includes(n)));
  // What a user types in the form (strings, ticked boxes), checked, turned into words, parsed by commander.
  const form = { model: BASE_MODEL, data: SUPPORT, lr: '3e-4', loraR: '4', schedule: 'cosine', packing: true, gradientCheckpointing: true, skipBadRows: false, maxSteps: '7', warmupRatio: '0.1' };
  const { values, errors } = readForm(TRAIN_OPTIONS, form, TRAIN_FORM_OMIT);
  assert.deepEqual(errors, {});
  const args = [...toArgs(TRAIN_OPTIONS, values), '--out', '/tmp/x'];
  const cmd = addOptions(new Command('train').exitOverride(), TRAIN_OPTIONS, { config: true });
  cmd.parse(args, { from: 'user' });
  const viaCli = readOptions(cmd, TRAIN_OPTIONS).values;
  const direct = resolveOptions(TRAIN_OPTIONS, { flags: { ...values, out: '/tmp/x' } }).values;
  assert.deepEqual(viaCli, direct);
  assert.equal(viaCli.lr, 3e-4);
  assert.equal(viaCli.packing, true);
  // Errors by option name; a missing required option too.
  const bad = readForm(TRAIN_OPTIONS, { loraR: '0', schedule: 'zigzag' }, TRAIN_FORM_OMIT);
  assert.deepEqual(Object.keys(bad.errors).sort(), ['data', 'loraR', 'schedule']);
  assert.equal(bad.errors.schedule, `--schedule must be one of ${TRAIN_OPTIONS.schedule.choices.join(', ')}, got 'zigzag'`);
});

test('a started run whose options clash shows as failed with train\'s own error; cross-site posts are refused', { timeout: 60_000 }, async () => {
  const root = join(tempDir('studio-api-'), 'runs');
  const studio = await startStudio({ runsDir: root, port: 0 });
  try {
    const r = await post(`${studio.url}/api/runs/start`, { options: { name: 'clash', model: BASE_MODEL, init: 'gpt2', data: SUPPORT, maxSteps: '2' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let run: any;
    for (let i = 0; i < 200; i++) {
      run = (await (await fetch(`${studio.url}/api/runs`)).json() as any).runs.find((x: any) => x.id === 'clash');
      if (run?.status !== 'running') break;
      await new Promise((done) => setTimeout(done, 100));
    }
    assert.equal(run.status, 'failed');
    assert.equal(run.launched.exit.code, 2);
    assert.match(run.launched.logTail, /give exactly one of --model DIR and --init ARCH/);

    // A form posted from another site: text/plain (no preflight) or a rebound host name.
    const plain = await post(`${studio.url}/api/runs/start`, { options: { name: 'x', data: SUPPORT } }, { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    const rebound = await new Promise<number>((done, fail) => {
      const req = request({ host: '127.0.0.1', port: studio.port, path: '/api/runs/start', method: 'POST', headers: { 'content-type': 'application/json', host: 'evil.example:7860' } }, (res) => { res.resume(); done(res.statusCode!); });
      req.on('error', fail);
      req.end('{}');
    });
    assert.equal(rebound, 403);
    const stop = await post(`${studio.url}/api/runs/stop`, { run: 'clash' });
    assert.equal(stop.status, 409);
  } finally {
    await studio.close();
  }
  // Bound to an address other than loopback's names: no reading files, no starting processes.
  const exposed = await startStudio({ runsDir: root, port: 0, host: '127.0.0.2' });
  try {
    for (const path of ['/api/data', '/api/runs/start']) {
      const r = await post(`${exposed.url}${path}`, { data: SUPPORT, options: {} });
      assert.equal(r.status, 403, path);
      assert.match(r.body.errors[''], /offered on loopback only \(the studio is bound to 127\.0\.0\.2\)/);
    }
    assert.equal((await (await fetch(`${exposed.url}/api/runs`)).json() as any).canLaunch, false);
  } finally {
    await exposed.close();
  }
});

test('a full fine-tune\'s checkpoint and final model answer through the studio\'s /v1, each its own model', { timeout: 60_000 }, async () => {
  const root = join(tempDir('studio-api-'), 'runs');
  const t = spawnSync(process.execPath, [BIN, 'train', '--model', BASE_MODEL, '--data', SUPPORT, '--method', 'full', '--max-steps', '2', '--save-every', '1',
    '--batch-size', '2', '--lr', '0.01', '--out', join(root, 'full'), '--no-progress'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  const studio = await startStudio({ runsDir: root, port: 0 });
  try {
    const p = await (await fetch(`${studio.url}/api/playground`)).json() as any;
    assert.equal(p.model, null, 'no LoRA run names a base: none is chosen');
    assert.deepEqual(p.checkpoints.map((c: any) => [c.name, c.kind, c.step]), [['full', 'full', null], ['full/checkpoint-2', 'full', 2], ['full/checkpoint-1', 'full', 1]]);
    const client = new OpenAI({ baseURL: studio.url + '/v1', apiKey: 'unused', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'Hello' }];
    const reply = (dir: string) => {
      const m = loadServedModel({ modelDir: dir });
      return generate(m.model, encodeChat(m, messages), { maxNewTokens: 6, eosIds: m.chatStopIds, stopStrings: m.chatStopStrings, decode: (ids) => m.tokenizer!.decode(ids) }).text!;
    };
    for (const [name, dir] of [['full/checkpoint-1', join(root, 'full', 'checkpoint-1')], ['full', join(root, 'full')]]) {
      const r = await client.chat.completions.create({ model: name, messages, max_tokens: 6, temperature: 0 });
      assert.equal(r.model, name);
      assert.equal(r.choices[0].message.content, reply(dir), name);
    }
    assert.notEqual(reply(join(root, 'full', 'checkpoint-1')), reply(BASE_MODEL), 'the checkpoint is not the base model');
  } finally {
    await studio.close();
  }
});

test('closing the studio stops the runs it started the way Ctrl-C does: each saves a checkpoint', { timeout: 60_000 }, async () => {
  const root = join(tempDir('studio-api-'), 'runs');
  const studio = await startStudio({ runsDir: root, port: 0 });
  const r = await post(`${studio.url}/api/runs/start`, { options: { name: 'long', model: BASE_MODEL, data: SUPPORT, maxSteps: '100000', batchSize: '1' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const metrics = join(root, 'long', 'metrics.jsonl');
  for (let i = 0; i < 300 && !(existsSync(metrics) && readFileSync(metrics, 'utf8').includes('\n')); i++) await new Promise((done) => setTimeout(done, 100));
  await studio.close();
  const summary = JSON.parse(readFileSync(join(root, 'long', 'summary.json'), 'utf8'));
  assert.match(summary.status, /^stopped at step \d+ of 100000 \(SIGINT\)$/);
  assert.ok(existsSync(join(root, 'long', `checkpoint-${summary.steps}`)));
});
