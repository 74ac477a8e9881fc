// The studio in a real browser (Debian's chromium driven by playwright-core): a finished run and one
// that is training, the charts carrying exactly the rows of their metrics.jsonl, and new points
// appearing when lines are appended, as they are while `gptune train` runs; the playground streaming
// the base model and a run's adapter side by side. Screenshots saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipWithoutBrowser, withStudioPage } from './page.js';
import { encodeChat, loadServedModel } from '../../src/serve/served_model.js';
import { generate } from '../../src/generate/generate.js';
import { openModel } from '../../src/run/model.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { BASE_MODEL, baseAdapter } from '../serve/helpers.js';
import { tempDir } from '../helpers/temp_dir.js';

const skip = skipWithoutBrowser;

const row = (step: number, scale = 1) => ({ step, loss: scale * 3 / step, lr: scale * 1e-3 * (1 - step / 40), grad_norm: scale * (1 + step / 10), tokens_per_sec: scale * 500 + step, elapsed_s: step / 2 });
const lines = (rows: object[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');

test('the studio draws a finished and a training run, overlaid, and the live one gains points as lines are appended', { skip, timeout: 60_000 }, async (t) => {
  const out = tempDir('studio-browser-');
  const root = join(out, 'runs');
  mkdirSync(join(root, 'finished-run'), { recursive: true });
  mkdirSync(join(root, 'live-run'), { recursive: true });
  const done = Array.from({ length: 20 }, (_, i) => row(i + 1));
  writeFileSync(join(root, 'finished-run', 'metrics.jsonl'), lines([...done.slice(0, 10), { step: 10, eval_loss: 0.5 }, ...done.slice(10), { step: 20, eval_loss: 0.25 }]));
  writeFileSync(join(root, 'finished-run', 'train_config.json'), JSON.stringify({ method: 'lora', lr: 1e-3, maxSteps: 20 }));
  writeFileSync(join(root, 'finished-run', 'summary.json'), JSON.stringify({ status: 'finished 20 steps', interrupted: false, steps: 20, maxSteps: 20 }));
  // A run mid-training: five rows and the sixth caught halfway through its append.
  const live = join(root, 'live-run', 'metrics.jsonl');
  const liveRow = (step: number) => row(step, 1.3);
  const sixth = JSON.stringify(liveRow(6));
  writeFileSync(live, lines([1, 2, 3, 4, 5].map((s) => liveRow(s))) + sixth.slice(0, 9));

  await withStudioPage({ runsDir: root, port: 0, pollMs: 100 }, 900, async (page) => {
    const points = (chart: string, run: string) => page.evaluate(([c, r]) => (window as any).studio.points(c, r), [chart, run]);
    const waitPoints = (chart: string, run: string, n: number) =>
      page.waitForFunction(([c, r, k]) => (window as any).studio.points(c, r) === k, [chart, run, n] as const, { timeout: 10_000 });

    // The run in training is shown first: its complete rows, not the torn one.
    await waitPoints('loss', 'live-run', 5);
    assert.equal(await page.textContent('li[data-run="live-run"] .status'), 'running');
    assert.equal(await page.textContent('li[data-run="finished-run"] .status'), 'finished');

    // Overlay the finished run: 20 losses, 2 eval losses, on the same step axis.
    await page.check('input[data-run="finished-run"]');
    await waitPoints('loss', 'finished-run', 20);
    assert.equal(await points('eval_loss', 'finished-run'), 2);
    assert.equal(await points('lr', 'finished-run'), 20);
    const drawn = await page.evaluate(() => {
      const u = (window as any).studio.state.charts.loss.u;
      const col = u.series.findIndex((s: { label: string }) => s.label === 'finished-run');
      return u.data[0].map((x: number, i: number) => [x, u.data[col][i]]).filter((p: unknown[]) => p[1] !== null);
    });
    assert.deepEqual(drawn, done.map((r) => [r.step, r.loss]));

    // Smoothing: TensorBoard's debiased moving average on the loss chart; the lr chart stays raw.
    await page.fill('#smoothing', '0.9');
    await page.dispatchEvent('#smoothing', 'input');
    const smoothed = await page.evaluate(() => {
      const u = (window as any).studio.state.charts.loss.u;
      const col = u.series.findIndex((s: { label: string }) => s.label === 'finished-run');
      return u.data[col].filter((v: number | null) => v !== null);
    });
    let ema = 0;
    const want = done.map((r, i) => (ema = 0.9 * ema + 0.1 * r.loss) / (1 - 0.9 ** (i + 1)));
    smoothed.forEach((v: number, i: number) => assert.ok(Math.abs(v - want[i]) < 1e-12, `smoothed[${i}] ${v} vs ${want[i]}`));
    assert.equal(await points('lr', 'finished-run'), 20);
    await page.fill('#smoothing', '0');
    await page.dispatchEvent('#smoothing', 'input');

    // The trainer finishes its line and writes three more: the chart follows without a reload.
    appendFileSync(live, sixth.slice(9) + '\n' + lines([7, 8, 9].map((s) => liveRow(s))));
    await waitPoints('loss', 'live-run', 9);
    assert.equal(await points('lr', 'live-run'), 9);
    assert.equal(await points('eval_loss', 'live-run'), 0);
    appendFileSync(live, lines([{ step: 9, eval_loss: 0.75 }]));
    await waitPoints('eval_loss', 'live-run', 1);

    // The run ends (summary.json appears): the list says so at its next poll.
    writeFileSync(join(root, 'live-run', 'summary.json'), JSON.stringify({ status: 'stopped at step 9 of 40 (SIGINT)', interrupted: true, steps: 9, maxSteps: 40 }));
    await page.waitForFunction(() => document.querySelector('li[data-run="live-run"] .status')?.textContent === 'stopped', undefined, { timeout: 10_000 });

    const shot = join(out, 'studio-runs.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'the screenshot has content');
    t.diagnostic(`screenshot: ${shot}`);
  });
});

test('the playground streams the base model and a run\'s adapter side by side', { skip, timeout: 60_000 }, async (t) => {
  const out = tempDir('studio-browser-');
  const root = join(out, 'runs');
  const run = join(root, 'lora-run');
  mkdirSync(run, { recursive: true });
  for (const f of ['adapter_config.json', 'adapter_model.safetensors']) copyFileSync(join(baseAdapter(), f), join(run, f));
  writeFileSync(join(run, 'metrics.jsonl'), lines([row(1), row(2)]));
  writeFileSync(join(run, 'summary.json'), JSON.stringify({ status: 'finished 2 steps', interrupted: false, steps: 2, maxSteps: 2 }));

  await withStudioPage({ runsDir: root, model: BASE_MODEL, port: 0, pollMs: 100 }, 1100, async (page) => {
    await page.waitForSelector('#pg-adapters input[data-adapter="lora-run"]:checked');
    const question = 'Hello';
    await page.fill('#pg-prompt', question);
    await page.fill('#pg-max', '8');
    await page.click('#pg-ask');
    await page.waitForFunction(() => [...document.querySelectorAll('#pg-answers .answer')].map((a) => (a as HTMLElement).dataset.state).join() === 'done,done', undefined, { timeout: 30_000 });
    const answers = await page.$$eval('#pg-answers .answer', (els) => els.map((e) => ({
      model: (e as HTMLElement).dataset.model, text: e.querySelector('pre')!.textContent, chunks: Number((e as HTMLElement).dataset.chunks),
    })));
    // Each column is that model's greedy reply through the chat template, streamed piece by piece.
    const served = loadServedModel({ modelDir: BASE_MODEL });
    const prompt = encodeChat(served, [{ role: 'user', content: question }]);
    const reply = (model: CausalLM) => generate(model, prompt, {
      maxNewTokens: 8, eosIds: served.chatStopIds, stopStrings: served.chatStopStrings, decode: (ids) => served.tokenizer!.decode(ids),
    }).text!;
    const want = [reply(served.model), reply(openModel(BASE_MODEL, { adapter: baseAdapter() }).model)];
    assert.notEqual(want[0], want[1], 'this prompt tells the base and the adapter apart');
    assert.deepEqual(answers.map((a) => [a.model, a.text]), [['base', want[0]], ['lora-run', want[1]]]);
    assert.ok(answers[0].chunks > 1 && answers[1].chunks > 1, `streamed in pieces: ${JSON.stringify(answers)}`);
    const shot = join(out, 'studio-playground.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  });
});
