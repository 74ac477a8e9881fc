// Stopping a run is safe and honest: SIGTERM/SIGINT finish the step, save a checkpoint, say how to
// resume (even with --no-progress), exit 130/143 without writing final weights; --resume then gets
// past the debris a kill leaves (stale .tmp folders, a torn metrics line, a torn newest checkpoint).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');
const tmp = () => tempDir('sig-');

function trainArgs(dir: string, out: string, steps: number): string[] {
  const data = join(dir, 'ids.jsonl');
  if (!existsSync(data)) writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 12 }, (_, t) => (i * 31 + t * 7) % 512) })).join('\n') + '\n');
  return ['train', '--model', fixturePath('gpt2-tiny'), '--data', data, '--out', out, '--max-steps', String(steps), '--batch-size', '2', '--no-progress'];
}

/** Starts a long run, sends sig once metrics.jsonl has a step in it, and waits for the exit. */
function runAndStop(args: string[], out: string, sig: NodeJS.Signals): Promise<{ code: number | null; err: string; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '', stdout = '', sent = false;
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => { stdout += d; });
    const poll = setInterval(() => {
      if (!sent && existsSync(join(out, 'metrics.jsonl')) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').includes('\n')) {
        sent = true;
        child.kill(sig);
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => { clearInterval(poll); resolve({ code, err, out: stdout }); });
  });
}

for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${sig}: a checkpoint, exit ${code}, no final model, the summary says where it stopped`, async () => {
    const dir = tmp();
    const out = join(dir, 'run');
    const r = await runAndStop(trainArgs(dir, out, 100000), out, sig);
    assert.equal(r.code, code, r.err);
    const ckpts = readdirSync(out).filter((n) => /^checkpoint-\d+$/.test(n));
    assert.equal(ckpts.length, 1, readdirSync(out).join(', '));
    const n = Number(ckpts[0].slice('checkpoint-'.length));
    assert.match(r.err, new RegExp(`saved checkpoint-${n} .*continue with --resume`));
    assert.ok(!existsSync(join(out, 'model.safetensors')), 'no final weights in --out');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.status, `stopped at step ${n} of 100000 (${sig})`);
    assert.match(r.out, new RegExp(`stopped at step ${n} of 100000`));
  });
}

test('resume cleans stale .tmp folders, drops a torn metrics line, falls back from a torn checkpoint, and says where it resumed', () => {
  const dir = tmp();
  const out = join(dir, 'run');
  const first = spawnSync(process.execPath, [BIN, ...trainArgs(dir, out, 2), '--save-every', '1'], { encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);
  // What a kill -9 at step 3 leaves: a half-written checkpoint of a dead process, a torn metrics line,
  // and a newest checkpoint whose state file was cut short.
  const stale = join(out, 'checkpoint-3.tmp-999999999');
  mkdirSync(stale);
  writeFileSync(join(stale, 'optimizer.safetensors'), 'partial');
  appendFileSync(join(out, 'metrics.jsonl'), '{"step": 3, "lo');
  cpSync(join(out, 'checkpoint-2'), join(out, 'checkpoint-3'), { recursive: true });
  writeFileSync(join(out, 'checkpoint-3', 'trainer_state.json'), '{"step": 3, "da');
  const r = spawnSync(process.execPath, [BIN, ...trainArgs(dir, out, 4), '--resume'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(stale), 'stale tmp folder removed');
  assert.match(r.stderr, /removed .*checkpoint-3\.tmp-999999999/);
  assert.match(r.stderr, /metrics\.jsonl:\d+: dropped a torn last line/);
  assert.match(r.stderr, /checkpoint-3 cannot be loaded .*falling back to .*checkpoint-2/);
  assert.match(r.stderr, /resumed from checkpoint-2/);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps.filter((s) => s !== undefined), [1, 2, 3, 4]);
});
