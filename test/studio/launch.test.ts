// Starting, stopping and resuming a run from the studio's page, in a real browser (Debian's chromium,
// playwright-core): the form (generated from train's option declarations) reports a bad value under
// its option; a tiny LoRA run on the shipped base model starts as a `gptune train` child, shows as
// running with live curves, stops on the button with a checkpoint (as Ctrl-C does), answers in the
// playground from that checkpoint, and resumes to its last step. Screenshots saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { skipWithoutBrowser, withStudioPage } from './page.js';
import { encodeChat, loadServedModel } from '../../src/serve/served_model.js';
import { generate } from '../../src/generate/generate.js';
import { openModel } from '../../src/run/model.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { BASE_MODEL } from '../serve/helpers.js';
import { tempDir } from '../helpers/temp_dir.js';

const skip = skipWithoutBrowser;
const SUPPORT = join(process.cwd(), 'data', 'support', 'train.jsonl');
const STEPS = 60;

async function fill(page: Page, values: Record<string, string>) {
  for (const [name, v] of Object.entries(values)) await page.fill(`#nr-form [data-option="${name}"]`, v);
}
const status = (page: Page, run: string) => page.textContent(`li[data-run="${run}"] .status`);
const waitStatus = (page: Page, run: string, want: string, timeout = 30_000) =>
  page.waitForFunction(([r, w]) => document.querySelector(`li[data-run="${r}"] .status`)?.textContent === w, [run, want] as const, { timeout, polling: 100 });

test('a run started from the page trains live, stops with a checkpoint, answers from it in the playground, and resumes to the end', { skip, timeout: 120_000 }, async (t) => {
  const out = tempDir('studio-launch-');
  const root = join(out, 'runs');
  await withStudioPage({ runsDir: root, model: BASE_MODEL, port: 0, pollMs: 100 }, 1000, async (page) => {
    await page.click('#new-run summary');
    await page.waitForSelector('#nr-form [data-option="lr"]');
    // Every train option is on the form except those the page decides itself.
    const fields = await page.$$eval('#nr-form [data-option]', (els) => els.map((e) => (e as HTMLElement).dataset.option));
    assert.ok(fields.includes('loraR') && fields.includes('gradientCheckpointing') && !fields.includes('out'), fields.join());

    // Bad values come back under their own fields, in the CLI's words; nothing starts.
    await fill(page, { name: '../x', data: SUPPORT, model: BASE_MODEL, lr: '-1', maxSteps: String(STEPS), batchSize: '1' });
    await page.click('#nr-start');
    await page.waitForSelector('[data-field="lr"].invalid');
    assert.equal(await page.textContent('#nr-form [data-error-for="lr"]'), '--lr must be a number in [0, ∞], got \'-1\'');
    assert.match(await page.textContent('#nr-form [data-error-for="name"]') ?? '', /^the run's name must be letters/);
    assert.ok(!existsSync(root) || readdirSync(root).filter((n) => !n.startsWith('.')).length === 0);

    // A tiny LoRA run: appears as running, its curve grows while it trains.
    await fill(page, { name: 'tiny', lr: '0.02', saveEvery: '0' });
    await page.click('#nr-start');
    await page.waitForSelector('li[data-run="tiny"]');
    assert.equal(await page.textContent('#nr-form [data-error-for="lr"]'), '');
    assert.match(await page.textContent('#nr-message') ?? '', /main\.js train --model \S+ --data \S+ --save-every 0 --max-steps 60 --batch-size 1 --lr 0\.02 --out \S+tiny --no-progress$/);
    await waitStatus(page, 'tiny', 'running', 5000);
    await page.waitForFunction(() => (window as any).studio.points('loss', 'tiny') >= 1, undefined, { timeout: 30_000, polling: 50 });
    await page.screenshot({ path: join(out, 'studio-training.png'), fullPage: true });

    // Stop: SIGINT, as Ctrl-C; the trainer saves a checkpoint and the run shows as stopped.
    await page.click('#details button[data-action="stop"]');
    await waitStatus(page, 'tiny', 'stopped');
    const run = join(root, 'tiny');
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    const step = summary.steps as number;
    assert.equal(summary.status, `stopped at step ${step} of ${STEPS} (SIGINT)`);
    assert.ok(step >= 1 && step < STEPS, `stopped at ${step}`);
    assert.ok(existsSync(join(run, `checkpoint-${step}`, 'adapter_model.safetensors')), readdirSync(run).join());
    assert.ok(!existsSync(join(run, 'adapter_model.safetensors')), 'no final adapter for a stopped run');

    // The checkpoint answers in the playground beside the base model: each its own greedy reply.
    const ckpt = `tiny/checkpoint-${step}`;
    await page.check(`#pg-checkpoints input[data-checkpoint="${ckpt}"]`, { timeout: 15_000 });
    await page.fill('#pg-prompt', 'Hello');
    await page.fill('#pg-max', '8');
    await page.click('#pg-ask');
    await page.waitForFunction(() => [...document.querySelectorAll('#pg-answers .answer')].map((a) => (a as HTMLElement).dataset.state).join() === 'done,done', undefined, { timeout: 30_000 });
    const answers = await page.$$eval('#pg-answers .answer', (els) => els.map((e) => [(e as HTMLElement).dataset.model, e.querySelector('pre')!.textContent]));
    const served = loadServedModel({ modelDir: BASE_MODEL });
    const prompt = encodeChat(served, [{ role: 'user', content: 'Hello' }]);
    const reply = (model: CausalLM) => generate(model, prompt, {
      maxNewTokens: 8, eosIds: served.chatStopIds, stopStrings: served.chatStopStrings, decode: (ids) => served.tokenizer!.decode(ids),
    }).text!;
    const want = [reply(served.model), reply(openModel(BASE_MODEL, { adapter: join(run, `checkpoint-${step}`) }).model)];
    assert.notEqual(want[0], want[1], 'the checkpoint answers differently from the base');
    assert.deepEqual(answers, [['base', want[0]], [ckpt, want[1]]]);
    await page.screenshot({ path: join(out, 'studio-checkpoint-playground.png'), fullPage: true });

    // Resume: --resume from the checkpoint, to the last step; the final adapter is written.
    await page.click(`li[data-run="tiny"] .name`);
    await page.click('#details button[data-action="resume"]');
    await waitStatus(page, 'tiny', 'running', 5000);
    await waitStatus(page, 'tiny', 'finished', 90_000);
    const done = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    assert.equal(done.status, `finished ${STEPS} steps`);
    assert.ok(existsSync(join(run, 'adapter_model.safetensors')));
    const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i + 1));
    assert.match(readFileSync(join(root, '.studio', 'tiny.log'), 'utf8'), new RegExp(`resumed from checkpoint-${step}`));
    await page.waitForFunction((n) => (window as any).studio.points('loss', 'tiny') === n, STEPS, { timeout: 10_000 });
    const shot = join(out, 'studio-resumed.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshots in ${out}`);
  });
});
