// Data-parallel scaling on this machine (issue 19): GPT-2 124M training steps on 2 MPI ranks x 1
// thread against 1 process x 2 threads at the same global batch; plus the bytes allreduced per step,
// the wait left after overlapping with backward, and the same allreduce timed alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { BenchContext, BenchRow } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const GPT2_124M = { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257 };

function worker(ctx: BenchContext, ranks: number, cfg: object): Record<string, number> | null {
  const node = [process.execPath, join(here, 'workers', 'mpi_worker.js'), JSON.stringify(cfg)];
  const env = { ...process.env, GPTUNE_THREADS: String(2 / ranks) };
  const r = ranks === 1 ? spawnSync(node[0], node.slice(1), { encoding: 'utf8', env })
    : spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(ranks), ...node], { encoding: 'utf8', env });
  if (r.status !== 0) {
    ctx.notice(`mpi bench on ${ranks} rank(s) failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-1)[0]}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export function run(ctx: BenchContext): BenchRow[] {
  const mpiAddon = join(here, '..', '..', 'build', 'Release', 'gptune_mpi.node');
  if (spawnSync('sh', ['-c', 'command -v mpirun']).status !== 0 || !existsSync(mpiAddon)) {
    ctx.notice('mpi: skipped (needs mpirun and the MPI addon: apt-get install openmpi-bin libopenmpi-dev, then npm rebuild)');
    return [];
  }
  const cfg = { ...GPT2_124M, batch: 4, seq_len: 128, steps: ctx.quick ? 1 : 3, warmup: 1 };
  const one = worker(ctx, 1, cfg), two = worker(ctx, 2, cfg);
  if (!one || !two) return [];
  const label = `GPT-2 124M B${cfg.batch}xT${cfg.seq_len}`;
  const mb = (two.bytes_per_step / 1e6).toFixed(0);
  return [
    { bench: 'mpi', case: `train ${label} 2 ranks x 1 thread`, unit: 'tokens/s', gptune: two.tokens_per_sec, peer: one.tokens_per_sec, peerName: '1 proc x 2 threads',
      note: `step ${two.step_ms.toFixed(0)} ms vs ${one.step_ms.toFixed(0)} ms; ${mb} MB allreduced per step in ${two.buckets} buckets, ${two.exposed_wait_ms.toFixed(0)} ms left waiting after backward` },
    { bench: 'mpi', case: `allreduce ${mb} MB alone, 2 ranks`, unit: 'ms', gptune: two.allreduce_ms, peer: null, peerName: 'none',
      note: `bus bandwidth ${two.allreduce_bus_gbps.toFixed(1)} Gb/s (2(N-1)/N x bytes / time), shared memory on one host` },
  ];
}
