// Model-level benchmarks, each side by side with the PyTorch peer in the same run, each config in
// its own process on both sides (peak RSS per config): forward+backward and generation for GPT-2
// 124M (issue: GPT-2), full fine-tuning at three shapes (training), LoRA at the same shapes.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { type BenchContext, type BenchRow, runPeer, timeit } from './harness.js';
import { backend } from '../src/backend/select.js';

const here = dirname(fileURLToPath(import.meta.url));
const GPT2_124M = { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257 };
const SHAPES = {
  tiny: { n_layer: 4, n_embd: 256, n_head: 4, vocab_size: 8192, batch: 16, seq_len: 128 },
  small: { n_layer: 6, n_embd: 384, n_head: 6, vocab_size: 50257, batch: 8, seq_len: 256 },
  '124M': { ...GPT2_124M, batch: 4, seq_len: 256 },
};

function runOurs(ctx: BenchContext, cfg: object): Record<string, number> | null {
  const r = spawnSync(process.execPath, [join(here, 'workers', 'model_worker.js'), JSON.stringify(cfg)], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) {
    ctx.notice(`gptune ${JSON.stringify(cfg)}: failed (${(r.stderr || '').trim().split('\n').slice(-1)[0]})`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Read bandwidth: a threaded sum over 1 GiB (far beyond the caches), in GB/s. */
function readBandwidth(): number {
  const a = new Float32Array(1 << 28).fill(1);
  const s = timeit(() => { backend().sum(a, a.length); }, { warmup: 1, minIters: 5, minSeconds: 1 });
  return a.byteLength / s / 1e9;
}

export function run(ctx: BenchContext): BenchRow[] {
  const rows: BenchRow[] = [];
  const bw = readBandwidth();
  // Decoding one token reads every weight once (f32); the bound is bandwidth / weight bytes.
  const bound = (params: number) => bw * 1e9 / (params * 4);
  const GPT2_PARAMS = 124_439_808, SMOL_PARAMS = 134_515_008;
  rows.push({ bench: 'memory', case: 'read bandwidth (sum over 1 GiB)', unit: 'GB/s', gptune: bw, peer: null, peerName: 'none', note: `decode bounds: GPT-2 124M ${bound(GPT2_PARAMS).toFixed(1)} tok/s, SmolLM-135M ${bound(SMOL_PARAMS).toFixed(1)} tok/s` });
  const steps = ctx.quick ? 2 : 5;
  const pair = (bench: string, name: string, cfg: object, peerEnv: Record<string, string> = {}) => {
    const ours = runOurs(ctx, cfg);
    const peer = runPeer(ctx, 'gpt2_torch.py', cfg, peerEnv);
    return { ours, peer, bench, name };
  };
  // GPT-2 124M forward+backward (no optimizer) and generation.
  {
    const { ours, peer } = pair('gpt2', 'fwd+bwd 124M B4 T256', { mode: 'fwdbwd', ...GPT2_124M, batch: 4, seq_len: 256, steps });
    if (ours) rows.push({ bench: 'gpt2', case: 'fwd+bwd 124M B4xT256', unit: 'tokens/s', gptune: ours.tokens_per_sec, peer: peer?.tokens_per_sec ?? null, peerName: 'torch-cpu' });
    const g = pair('gpt2', 'generate', { mode: 'generate', ...GPT2_124M, batch: 1, seq_len: 128, prompt_len: 128, new_tokens: ctx.quick ? 16 : 64 });
    if (g.ours) {
      rows.push({ bench: 'gpt2', case: 'prefill 124M 128 tokens', unit: 'tokens/s', gptune: g.ours.prefill_tokens_per_sec, peer: g.peer?.prefill_tokens_per_sec ?? null, peerName: 'torch-cpu' });
      rows.push({ bench: 'gpt2', case: 'decode 124M (KV cache)', unit: 'tokens/s', gptune: g.ours.decode_tokens_per_sec, peer: g.peer?.decode_tokens_per_sec ?? null, peerName: 'torch-cpu', note: `${(100 * g.ours.decode_tokens_per_sec / bound(GPT2_PARAMS)).toFixed(0)}% of the bandwidth bound` });
    }
  }
  // SmolLM-135M's shape (issue: Llama family): training full and LoRA, and decode.
  {
    const smol = { arch: 'llama', n_layer: 30, n_embd: 576, n_head: 9, n_kv_head: 3, intermediate: 1536, vocab_size: 49152, n_positions: 2048 };
    for (const mode of ['train', 'lora'] as const) {
      const cfg = { mode, ...smol, batch: 4, seq_len: 256, steps: ctx.quick ? 1 : 3, warmup: 1, lora_r: 8, lora_alpha: 16 };
      const { ours, peer } = pair('smollm', mode, cfg, mode === 'lora' ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {});
      if (ours) {
        const label = `${mode === 'train' ? 'full' : 'lora r8'} SmolLM-135M B4xT256`;
        rows.push({ bench: 'smollm', case: label, unit: 'tokens/s', gptune: ours.tokens_per_sec, peer: peer?.tokens_per_sec ?? null, peerName: 'torch-cpu' });
        rows.push({ bench: 'smollm', case: label + ' peak RSS', unit: 'MB', gptune: ours.max_rss_mb, peer: peer?.max_rss_mb ?? null, peerName: 'torch-cpu', note: 'lower is better' });
      }
    }
    const g = pair('smollm', 'generate', { mode: 'generate', ...smol, batch: 1, seq_len: 128, prompt_len: 128, new_tokens: ctx.quick ? 16 : 64 });
    if (g.ours) rows.push({ bench: 'smollm', case: 'decode SmolLM-135M (KV cache)', unit: 'tokens/s', gptune: g.ours.decode_tokens_per_sec, peer: g.peer?.decode_tokens_per_sec ?? null, peerName: 'torch-cpu', note: `${(100 * g.ours.decode_tokens_per_sec / bound(SMOL_PARAMS)).toFixed(0)}% of the bandwidth bound` });
  }
  for (const mode of ['train', 'lora'] as const) {
    for (const [name, shape] of Object.entries(SHAPES)) {
      const cfg = { mode, ...shape, steps, lora_r: 8, lora_alpha: 16 };
      // glibc keeps freed memory unless told; with this threshold PyTorch's peak RSS is its real peak.
      const { ours, peer } = pair(mode, name, cfg, mode === 'lora' ? { MALLOC_MMAP_THRESHOLD_: '131072' } : {});
      if (!ours) continue;
      const label = `${mode === 'train' ? 'full' : 'lora r8'} ${name} B${shape.batch}xT${shape.seq_len}`;
      rows.push({ bench: mode, case: label, unit: 'tokens/s', gptune: ours.tokens_per_sec, peer: peer?.tokens_per_sec ?? null, peerName: 'torch-cpu' });
      rows.push({ bench: mode, case: label + ' peak RSS', unit: 'MB', gptune: ours.max_rss_mb, peer: peer?.max_rss_mb ?? null, peerName: 'torch-cpu', note: 'lower is better' });
    }
  }
  return rows;
}
