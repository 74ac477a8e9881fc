// Opening a real-sized checkpoint (issue 22): a Llama-3.2-1B-shaped bf16 model with random weights
// (2.5 GB, written once by scripts/bench/make_llama1b_bf16.py to $GPTUNE_BENCH_CACHE or
// $TMPDIR/gptune-bench), opened by gptune and by transformers' from_pretrained side by side.
// Target: within 2x of transformers' time. Rows: the library's open time, the whole
// `gptune generate --max-new-tokens 1` process against a Python process doing from_pretrained +
// generate(max_new_tokens=1), and the peak RSS of both.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchContext, type BenchRow, PYTHON, peerEnv, runPeer } from './harness.js';
import { PEAK_RSS_TAG } from './workers/peak_rss.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const PROMPT = [128000, 791, 4062, 14198, 39935];

/** The checkpoint's folder, made on first use with the peer's Python (torch + safetensors); null if it cannot be. */
function checkpoint(ctx: BenchContext): string | null {
  const dir = join(process.env.GPTUNE_BENCH_CACHE ?? join(tmpdir(), 'gptune-bench'), 'llama1b-bf16');
  if (existsSync(join(dir, 'model.safetensors')) && existsSync(join(dir, 'config.json'))) return dir;
  if (!existsSync(PYTHON)) { ctx.notice(`load: skipped, no Python at ${PYTHON} to write the 1B checkpoint`); return null; }
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(PYTHON, [join(root, 'scripts', 'bench', 'make_llama1b_bf16.py'), dir], { encoding: 'utf8', env: peerEnv().env });
  if (r.status !== 0) { ctx.notice(`load: could not write the 1B checkpoint (${(r.stderr || '').trim().split('\n').slice(-1)[0]})`); return null; }
  return dir;
}

/** Runs node with args, returning wall seconds, the peak RSS reported by peak_rss.js and the last stdout line. */
function runNode(args: string[]): { wallS: number; rssMb: number; stdout: string; error: string | null } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', join(here, 'workers', 'peak_rss.js'), ...args], { encoding: 'utf8', env: process.env, maxBuffer: 64 << 20 });
  const wallS = (performance.now() - t0) / 1000;
  const m = new RegExp(`^${PEAK_RSS_TAG} ([\\d.]+)$`, 'm').exec(r.stderr || '');
  const error = r.status === 0 ? null : (r.stderr || '').trim().split('\n').filter((l) => !l.startsWith(PEAK_RSS_TAG)).slice(-1)[0] ?? `exit ${r.status}`;
  return { wallS, rssMb: m ? Number(m[1]) : NaN, stdout: (r.stdout || '').trim().split('\n').pop() ?? '', error };
}

export function run(ctx: BenchContext): BenchRow[] {
  const dir = checkpoint(ctx);
  if (!dir) return [];
  const rows: BenchRow[] = [];
  const label = 'Llama-3.2-1B shape, bf16, 2.5 GB';
  // Peer first: it also warms the page cache, as a user's second run would find it.
  const t0 = performance.now();
  const peer = runPeer(ctx, 'hf_load.py', { model: dir, prompt_ids: PROMPT });
  const peerWall = (performance.now() - t0) / 1000;
  const lib = runNode([join(here, 'workers', 'load_worker.js'), dir]);
  if (lib.error) ctx.notice(`load: openModel failed (${lib.error})`);
  const cli = runNode([join(root, 'bin', 'gptune.js'), 'generate', '--model', dir, '--prompt-ids', PROMPT.join(','), '--max-new-tokens', '1']);
  if (cli.error) ctx.notice(`load: gptune generate failed (${cli.error})`);
  const common = { bench: 'load', peerName: 'transformers', peerConfig: peer?.config };
  if (!lib.error) {
    const ours = JSON.parse(lib.stdout) as { open_s: number; max_rss_mb: number };
    rows.push({ ...common, case: `open ${label}`, unit: 's', gptune: ours.open_s, peer: peer?.open_s ?? null,
      note: 'openModel vs from_pretrained; target ratio <= 2' });
    rows.push({ ...common, case: `open ${label} peak RSS`, unit: 'MB', gptune: ours.max_rss_mb, peer: null, note: 'lower is better' });
  }
  if (!cli.error) {
    rows.push({ ...common, case: `generate 1 token, whole process`, unit: 's', gptune: cli.wallS, peer: peer ? peerWall : null,
      note: 'gptune generate --max-new-tokens 1 vs python from_pretrained + generate' });
    rows.push({ ...common, case: `generate 1 token peak RSS`, unit: 'MB', gptune: cli.rssMb, peer: peer?.max_rss_mb ?? null, note: 'lower is better' });
  }
  return rows;
}
