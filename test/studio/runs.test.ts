// The studio's server side without a browser: following a growing metrics.jsonl (torn last line,
// replaced file, bad line), the runs listing's statuses and configs, and the command as a process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlFollower } from '../../src/serve/studio/follow_jsonl.js';
import { listRuns, STALE_MS } from '../../src/serve/studio/runs.js';
import { BIN } from '../serve/helpers.js';
import { fixturePath } from '../helpers/fixtures.js';
import { readMetrics } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/temp_dir.js';

function follow(path: string) {
  const got = { rows: [] as unknown[], resets: 0, problems: [] as string[] };
  const f = new JsonlFollower(path, { rows: (r) => got.rows.push(...r), reset: () => got.resets++, problem: (m) => got.problems.push(m) });
  return { f, got };
}

test('the follower hands on complete lines only, and starts over when the file is replaced', () => {
  const dir = tempDir('studio-');
  const path = join(dir, 'metrics.jsonl');
  const { f, got } = follow(path);
  f.poll(); // not there yet: nothing, no error
  writeFileSync(path, '{"step":1,"loss":2}\n{"step":2,"lo');
  f.poll();
  assert.deepEqual(got.rows, [{ step: 1, loss: 2 }]);
  appendFileSync(path, 'ss":1.5}\nnot json\n{"step":3,"loss":1.2}\n');
  f.poll();
  assert.deepEqual(got.rows, [{ step: 1, loss: 2 }, { step: 2, loss: 1.5 }, { step: 3, loss: 1.2 }]);
  assert.equal(got.problems.length, 1);
  assert.match(got.problems[0], /metrics\.jsonl:3: skipped a line that is not JSON/);
  // A resumed run rewrites its metrics through a temporary file and a rename.
  writeFileSync(path + '.tmp', '{"step":1,"loss":2}\n');
  renameSync(path + '.tmp', path);
  got.rows = [];
  f.poll();
  assert.equal(got.resets, 1);
  assert.deepEqual(got.rows, [{ step: 1, loss: 2 }]);
});

test('runs are found under the folder with status, config (from a checkpoint while training) and checkpoints', () => {
  const root = tempDir('studio-');
  const mk = (name: string, files: Record<string, unknown>) => {
    mkdirSync(join(root, name), { recursive: true });
    for (const [f, v] of Object.entries(files)) writeFileSync(join(root, name, f), typeof v === 'string' ? v : JSON.stringify(v));
  };
  mk('done', { 'metrics.jsonl': '{"step":1,"loss":2}\n', 'train_config.json': { lr: 0.001 }, 'summary.json': { interrupted: false, steps: 1 } });
  mk('halted', { 'metrics.jsonl': '', 'summary.json': { interrupted: true, steps: 3 } });
  mk('group/live', { 'metrics.jsonl': '{"step":1,"loss":2}\n' });
  mk('group/live/checkpoint-4', { 'trainer_state.json': { step: 4, config: { lr: 0.002 } } });
  mk('not-a-run', { 'notes.txt': 'hello' });
  const runs = listRuns(root);
  const by = Object.fromEntries(runs.map((r) => [r.id, r]));
  assert.deepEqual(Object.keys(by).sort(), ['done', 'group/live', 'halted']);
  assert.equal(by.done.status, 'finished');
  assert.deepEqual(by.done.config, { lr: 0.001 });
  assert.equal(by.halted.status, 'stopped');
  assert.equal(by['group/live'].status, 'running');
  assert.deepEqual(by['group/live'].config, { lr: 0.002 });
  assert.deepEqual(by['group/live'].checkpoints, [{ step: 4, name: 'checkpoint-4' }]);
  // No summary and no new metrics for a long time: the process is gone, not training.
  assert.equal(listRuns(root, Date.now() + STALE_MS + 1000).find((r) => r.id === 'group/live')!.status, 'unfinished');
  mk('bad', { 'summary.json': '{oops' });
  assert.match(listRuns(root).find((r) => r.id === 'bad')!.problems[0], /bad\/summary\.json: cannot read/);
  assert.deepEqual(listRuns(join(root, 'missing')), []);
});

test('gptune studio binds loopback, serves the page, uPlot and the runs, and exits 0 on SIGTERM', async () => {
  const root = tempDir('studio-');
  mkdirSync(join(root, 'r1'));
  writeFileSync(join(root, 'r1', 'metrics.jsonl'), '{"step":1,"loss":2}\n');
  const child = spawn(process.execPath, [BIN, 'studio', '--runs', root, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /open (http:\/\/127\.0\.0\.1:\d+) \(loopback only/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`studio exited early: ${err}`)));
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const page = await fetch(url + '/');
  assert.match(await page.text(), /<title>gptune studio<\/title>/);
  const lib = await fetch(url + '/vendor/uPlot.iife.min.js');
  assert.equal(lib.status, 200);
  assert.match(await lib.text(), /uPlot/);
  const runs = await (await fetch(url + '/api/runs')).json() as { runs: Array<{ id: string; status: string }> };
  assert.deepEqual(runs.runs.map((r) => [r.id, r.status]), [['r1', 'running']]);
  const missing = await fetch(url + '/api/metrics?run=' + encodeURIComponent('../etc'));
  assert.equal(missing.status, 404);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
});

test('a real gptune train run: running while it trains, stopped after Ctrl-C, its rows as the trainer reads them', async () => {
  const root = tempDir('studio-');
  const data = join(root, 'ids.jsonl');
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 12 }, (_, t) => (i * 31 + t * 7) % 512) })).join('\n') + '\n');
  const out = join(root, 'runs', 'tiny');
  const child = spawn(process.execPath, [BIN, 'train', '--model', fixturePath('gpt2-tiny'), '--data', data, '--out', out, '--max-steps', '100000', '--batch-size', '2', '--no-progress'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const metrics = join(out, 'metrics.jsonl');
  while (!existsSync(metrics) || readMetrics(metrics).length < 2) await new Promise((r) => setTimeout(r, 50));
  assert.equal(listRuns(join(root, 'runs'))[0].status, 'running');
  child.kill('SIGINT');
  await exited;
  const [run] = listRuns(join(root, 'runs'));
  assert.equal(run.id, 'tiny');
  assert.equal(run.status, 'stopped');
  assert.equal(run.config?.maxSteps, 100000);
  assert.ok(run.checkpoints.length >= 1, 'Ctrl-C saved a checkpoint');
  const { f, got } = follow(metrics);
  f.poll();
  assert.deepEqual(got.rows, readMetrics(metrics));
});
