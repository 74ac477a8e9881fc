// Data-parallel training over MPI equals one process at the same global batch: `mpirun -np 2` at
// batch b per rank against one process at batch 2b (losses, grad norms, weights). Without mpirun
// those cases skip; the shard split and the missing-addon message are checked everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { expectClose } from '../helpers/close.js';
import { shardBatch } from '../../src/train/distributed.js';
import { loadSafetensors } from '../../src/formats/safetensors.js';
import type { TrainBatch } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/temp_dir.js';

const ROOT = join(fixturePath(), '..', '..');
const BIN = join(ROOT, 'bin', 'gptune.js');
const HAS_MPIRUN = spawnSync('sh', ['-c', 'command -v mpirun'], { encoding: 'utf8' }).status === 0;
const HAS_ADDON = existsSync(join(ROOT, 'build', 'Release', 'gptune_mpi.node'));
const SKIP = !HAS_MPIRUN ? 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev, then npm ci)'
  : !HAS_ADDON ? 'the MPI addon was not built (libopenmpi-dev missing at npm ci?)' : false;
// One native thread per rank: 2 ranks share the CI's 2 cores, and a thread count never changes the numbers.
const ENV = { ...process.env, GPTUNE_THREADS: '1' };

/** A tiny from-scratch Llama on pre-tokenized rows; rows not a multiple of the global batch give a short last batch. */
function trainArgs(dir: string, rows: number, out: string, ...more: string[]): string[] {
  const data = join(dir, `ids-${rows}.jsonl`);
  writeFileSync(data, Array.from({ length: rows }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 17 }, (_, t) => (i * 31 + t * 7) % 64) })).join('\n') + '\n');
  return ['train', '--init', 'llama', '--tokenizer', 'gpt2', '--vocab-size', '64', '--n-layer', '1', '--n-embd', '16', '--n-head', '2',
    '--seq-len', '16', '--max-steps', '5', '--lr', '1e-2', '--data', data, '--out', join(dir, out), '--no-progress', ...more];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = ENV) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const mpirun = (np: number, args: string[], bin = BIN) => run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, bin, ...args]);

function steps(out: string): { loss: number; grad_norm: number }[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.loss !== undefined);
}

function expectSameRun(dist: string, single: string): void {
  const a = steps(dist), b = steps(single);
  assert.equal(a.length, 5);
  assert.equal(b.length, 5);
  expectClose('loss', a.map((r) => r.loss), b.map((r) => r.loss), { atol: 1e-5, rtol: 1e-5 });
  expectClose('grad_norm', a.map((r) => r.grad_norm), b.map((r) => r.grad_norm), { atol: 1e-5, rtol: 1e-5 });
  const wa = loadSafetensors(join(dist, 'model.safetensors')).tensors, wb = loadSafetensors(join(single, 'model.safetensors')).tensors;
  assert.deepEqual([...wa.keys()].sort(), [...wb.keys()].sort());
  for (const [name, t] of wb) expectClose(name, wa.get(name)!.data as Float32Array, t.data as Float32Array, { atol: 1e-5, rtol: 1e-4 });
}

test('5 AdamW steps on 2 ranks at batch 2 equal one process at batch 4', { skip: SKIP }, () => {
  const dir = tempDir('mpi-');
  const d = mpirun(2, trainArgs(dir, 16, 'dist', '--batch-size', '2'));
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /on each of 2 MPI ranks/);
  assert.equal(d.out.match(/^done: /gm)?.length, 1, 'rank 0 alone reports');
  assert.match(d.out, /^allreduce on 2 ranks: 0\.\d MB per step in 1 bucket\(s\), \d+\.\d ms per step waited after backward$/m);
  const s = run(process.execPath, [BIN, ...trainArgs(dir, 16, 'single', '--batch-size', '4')]);
  assert.equal(s.code, 0, s.err);
  expectSameRun(join(dir, 'dist'), join(dir, 'single'));
  assert.equal(JSON.parse(readFileSync(join(dir, 'dist', 'train_config.json'), 'utf8')).ranks, 2);
  // Its checkpoint resumes only on as many ranks (the data cursor and shards depend on it).
  const r = run(process.execPath, [BIN, ...trainArgs(dir, 16, 'dist', '--batch-size', '2', '--max-steps', '6', '--resume')]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /checkpoint-5 was written by a run on 2 MPI rank\(s\); resume it with mpirun -np 2 \(now 1\)/);
});

test('with gradient accumulation, tight clipping and uneven shards (a last batch of 3 rows) too', { skip: SKIP }, () => {
  const dir = tempDir('mpi-');
  // 7 rows at a global batch of 4: every second batch has 3 rows, split 1 + 2 over the ranks.
  const more = ['--grad-accum', '2', '--max-grad-norm', '0.3'];
  const d = mpirun(2, trainArgs(dir, 7, 'dist', '--batch-size', '2', ...more));
  assert.equal(d.code, 0, d.err);
  const s = run(process.execPath, [BIN, ...trainArgs(dir, 7, 'single', '--batch-size', '4', ...more)]);
  assert.equal(s.code, 0, s.err);
  expectSameRun(join(dir, 'dist'), join(dir, 'single'));
  assert.ok(steps(join(dir, 'single')).some((r) => r.grad_norm > 0.3), 'clipping was in force');
});

test('gradients summed in buckets started during backward (one per parameter), with checkpointing and accumulation, equal one process', { skip: SKIP }, () => {
  const dir = tempDir('mpi-');
  const more = ['--grad-accum', '2', '--gradient-checkpointing'];
  const d = mpirun(2, trainArgs(dir, 16, 'dist', '--batch-size', '2', '--bucket-mb', '0', ...more));
  assert.equal(d.code, 0, d.err);
  const s = run(process.execPath, [BIN, ...trainArgs(dir, 16, 'single', '--batch-size', '4', ...more)]);
  assert.equal(s.code, 0, s.err);
  expectSameRun(join(dir, 'dist'), join(dir, 'single'));
});

test('GPT-2 from scratch with dropout (0.1 on embeddings and residuals), checkpointed: 2 ranks equal one process', { skip: SKIP }, () => {
  const dir = tempDir('mpi-');
  const gpt2 = (args: string[]) => args.map((a) => (a === 'llama' ? 'gpt2' : a));
  const d = mpirun(2, gpt2(trainArgs(dir, 16, 'dist', '--batch-size', '2', '--gradient-checkpointing')));
  assert.equal(d.code, 0, d.err);
  const s = run(process.execPath, [BIN, ...gpt2(trainArgs(dir, 16, 'single', '--batch-size', '4', '--gradient-checkpointing'))]);
  assert.equal(s.code, 0, s.err);
  expectSameRun(join(dir, 'dist'), join(dir, 'single'));
});

/** LoRA on the gpt2-tiny checkpoint over token-id rows (its vocabulary is 512). */
function loraArgs(dir: string, out: string, ...more: string[]): string[] {
  const data = join(dir, 'ids512.jsonl');
  writeFileSync(data, Array.from({ length: 12 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 13 }, (_, t) => (i * 101 + t * 37) % 512) })).join('\n') + '\n');
  return ['train', '--model', fixturePath('gpt2-tiny'), '--method', 'lora', '--lora-r', '4', '--data', data, '--seq-len', '12', '--max-steps', '5',
    '--lr', '1e-2', '--out', join(dir, out), '--no-progress', ...more];
}

function expectSameAdapter(dist: string, single: string): void {
  const a = steps(dist), b = steps(single);
  assert.equal(a.length, 5);
  expectClose('loss', a.map((r) => r.loss), b.map((r) => r.loss), { atol: 1e-5, rtol: 1e-5 });
  expectClose('grad_norm', a.map((r) => r.grad_norm), b.map((r) => r.grad_norm), { atol: 1e-5, rtol: 1e-5 });
  const wa = loadSafetensors(join(dist, 'adapter_model.safetensors')).tensors, wb = loadSafetensors(join(single, 'adapter_model.safetensors')).tensors;
  assert.ok(wb.size > 0);
  assert.deepEqual([...wa.keys()].sort(), [...wb.keys()].sort());
  for (const [name, t] of wb) expectClose(name, wa.get(name)!.data as Float32Array, t.data as Float32Array, { atol: 1e-5, rtol: 1e-4 });
}

test('LoRA with LoRA dropout on 2 ranks equals one process (adapter weights, losses): each rank draws its rows of the global mask', { skip: SKIP }, () => {
  const dir = tempDir('mpi-');
  const d = mpirun(2, loraArgs(dir, 'dist', '--batch-size', '2', '--lora-dropout', '0.1'));
  assert.equal(d.code, 0, d.err);
  const s = run(process.execPath, [BIN, ...loraArgs(dir, 'single', '--batch-size', '4', '--lora-dropout', '0.1')]);
  assert.equal(s.code, 0, s.err);
  expectSameAdapter(join(dir, 'dist'), join(dir, 'single'));
});

test('packed prompt-completion rows on 2 ranks equal one process', { skip: SKIP }, () => {
  const dir = tempDir('mpi-');
  const data = join(dir, 'tasks.jsonl');
  writeFileSync(data, Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `Q${i}: ${'why '.repeat(i % 5)}?`, completion: ` A${i * 7} ${'ok '.repeat(i % 3)}` })).join('\n') + '\n');
  const args = (out: string, batch: string) => ['train', '--init', 'llama', '--tokenizer', 'gpt2', '--n-layer', '1', '--n-embd', '16', '--n-head', '2',
    '--seq-len', '32', '--packing', '--max-steps', '5', '--lr', '1e-2', '--data', data, '--out', join(dir, out), '--no-progress', '--batch-size', batch];
  const d = mpirun(2, args('dist', '1'));
  assert.equal(d.code, 0, d.err);
  const s = run(process.execPath, [BIN, ...args('single', '2')]);
  assert.equal(s.code, 0, s.err);
  expectSameRun(join(dir, 'dist'), join(dir, 'single'));
});

/** Starts a long mpirun job, calls act(mpirunPid) once it has logged a step, and waits for the exit (killing it after 60 s). */
function mpirunAndAct(args: string[], out: string, act: (pid: number, mark: string) => void): Promise<{ code: number | null; err: string; ms: number }> {
  const mark = String(process.pid) + String(Math.random()).slice(2);
  const metrics = join(out, 'metrics.jsonl');
  const lines = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').length : 0);
  const before = lines();
  return new Promise((resolve, reject) => {
    const child = spawn('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', '2', process.execPath, BIN, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...ENV, GPTUNE_TEST_MARK: mark } });
    let err = '', acted = 0;
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => { err += d; });
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const poll = setInterval(() => {
      if (acted || lines() <= before + 1) return;
      acted = performance.now();
      try { act(child.pid!, mark); } catch (e) { child.kill('SIGKILL'); reject(e); }
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => { clearInterval(poll); clearTimeout(guard); resolve({ code, err, ms: performance.now() - acted }); });
  });
}

/** The pid of rank `rank` of the job whose environment holds GPTUNE_TEST_MARK=mark. */
function rankPid(mark: string, rank: number): number {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`GPTUNE_TEST_MARK=${mark}`) && env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(pid);
    } catch { /* a process that ended meanwhile */ }
  }
  throw new Error(`no rank ${rank} with mark ${mark}`);
}

test('Ctrl-C on mpirun saves a checkpoint as one process does; a killed rank ends the job naming it; the run resumes on 2 ranks', { skip: SKIP }, async () => {
  const dir = tempDir('mpi-');
  const out = join(dir, 'run');
  const args = trainArgs(dir, 16, 'run', '--batch-size', '2', '--max-steps', '100000', '--save-every', '2');
  const stopped = await mpirunAndAct(args, out, (pid) => process.kill(pid, 'SIGINT'));
  assert.notEqual(stopped.code, 0);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.match(summary.status, /^stopped at step \d+ of 100000/);
  assert.ok(existsSync(join(out, `checkpoint-${summary.steps}`, 'trainer_state.json')), stopped.err);

  const killed = await mpirunAndAct([...args, '--resume'], out, (_, mark) => process.kill(rankPid(mark, 1), 'SIGKILL'));
  assert.notEqual(killed.code, 0);
  assert.match(killed.err, /process rank 1 .*exited on signal 9/);
  assert.ok(killed.ms < 10_000, `the job ended ${killed.ms} ms after the kill`);

  const last = Math.max(...readdirSync(out).filter((n) => /^checkpoint-\d+$/.test(n)).map((n) => Number(n.split('-')[1])));
  const resumed = mpirun(2, [...trainArgs(dir, 16, 'run', '--batch-size', '2', '--max-steps', String(last + 1)), '--resume']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, new RegExp(`resumed from checkpoint-${last}`));
  assert.ok(existsSync(join(out, 'model.safetensors')));
});

test('without the MPI addon, a run under mpirun or with --distributed stops saying what to install', () => {
  // A copy of the package without build/: what `npm install` leaves on a machine without MPI.
  const pkg = tempDir('nompi-');
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  const bin = join(pkg, 'bin', 'gptune.js');
  const want = /the MPI addon was not built .*gptune_mpi\.node is missing.*apt-get install openmpi-bin libopenmpi-dev/;
  const flag = run(process.execPath, [bin, ...trainArgs(pkg, 8, 'a', '--batch-size', '2', '--distributed')]);
  assert.equal(flag.code, 1);
  assert.match(flag.err, /--distributed was given/);
  assert.match(flag.err, want);
  // Under mpirun when there is one; else the environment Open MPI gives its ranks.
  const launched = HAS_MPIRUN ? mpirun(2, trainArgs(pkg, 8, 'b', '--batch-size', '2'), bin)
    : run(process.execPath, [bin, ...trainArgs(pkg, 8, 'b', '--batch-size', '2')], { ...ENV, OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '0' });
  assert.notEqual(launched.code, 0);
  assert.match(launched.err, /started by mpirun/);
  assert.match(launched.err, want);
  assert.ok(!existsSync(join(pkg, 'b', 'model.safetensors')));
});

test('shards of a batch are its rows in order, split as evenly as possible (a rank may get none)', () => {
  const T = 3;
  const batch = (rows: number): TrainBatch => {
    const ids = Int32Array.from({ length: rows * T }, (_, i) => i);
    const labels = ids.map((x) => (x % 4 === 1 ? -100 : x));
    return { inputIds: ids, labels, batch: rows, seqLen: T, positions: ids.map((x) => x % T), segments: new Int32Array(rows * T), targetTokens: 0 };
  };
  for (const [rows, size] of [[4, 2], [3, 2], [1, 2], [5, 3]]) {
    const b = batch(rows);
    const shards = Array.from({ length: size }, (_, r) => shardBatch(b, r, size));
    assert.deepEqual(shards.map((s) => s.batch), Array.from({ length: size }, (_, r) => Math.floor(((r + 1) * rows) / size) - Math.floor((r * rows) / size)));
    assert.deepEqual(shards.flatMap((s) => [...s.inputIds]), [...b.inputIds]);
    assert.deepEqual(shards.flatMap((s) => [...s.labels]), [...b.labels]);
    assert.deepEqual(shards.flatMap((s) => [...s.positions!]), [...b.positions!]);
    // Targets are counted per shard from its own rows (position 0 of a row is no one's target).
    shards.forEach((s) => assert.equal(s.targetTokens, [...s.labels].filter((x, i) => i % T !== 0 && x !== -100).length));
  }
});
