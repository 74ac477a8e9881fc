// Model-level benchmarks, each side by side with the PyTorch peer (HF transformers + PEFT, fp32 and
// bf16 autocast) in the same run, each config in its own process on both sides (peak RSS per config): forward+backward and generation for GPT-2
// 124M (issue: GPT-2), full fine-tuning at three shapes (training), LoRA at the same shapes.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { type BenchContext, type BenchRow, runPeer, timeit } from './harness.js';
import { backend } from '../src/backend/select.js';
import { readBandwidth } from './bandwidth.js';

const here = dirname(fileURLToPath(import.meta.url));
const GPT2_124M = { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257 };
const SHAPES = {
  tiny: { n_layer: 4, n_embd: 256, n_head: 4, vocab_size: 8192, batch: 16, seq_len: 128 },
  small: { n_layer: 6, n_embd: 384, n_head: 6, vocab_size: 50257, batch: 8, seq_len: 256 },
  '124M': { ...GPT2_124M, batch: 4, seq_len: 256 },
};

/**
 * Qwen3-0.6B's and Gemma-3-270M's published config.json shapes (random weights). Full fine-tuning only
 * at 270M: the 0.6B model's f32 weights, gradients and AdamW state alone take ~10 GB on each side.
 */
const ARCH_SHAPES = {
  'Qwen3-0.6B': {
    model_type: 'qwen3', vocab_size: 151936, hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28,
    num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, hidden_act: 'silu', max_position_embeddings: 40960,
    rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, attention_bias: false, use_sliding_window: false,
  },
  'Gemma-3-270M': {
    model_type: 'gemma3_text', vocab_size: 262144, hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18,
    num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh',
    max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000, rope_local_base_freq: 10000,
    query_pre_attn_scalar: 256, sliding_window: 512, tie_word_embeddings: true, attention_bias: false,
    layer_types: Array.from({ length: 18 }, (_, i) => (i + 1) % 6 === 0 ? 'full_attention' : 'sliding_attention'),
    attn_logit_softcapping: null, final_logit_softcapping: null,
  },
};

/**
 * BERT-base's published config.json shape (bert-base-uncased), random weights, a 2-label
 * ForSequenceClassification head on both sides. Attention dropout 0: gptune's BERT has none, and with
 * it torch's SDPA leaves its fused kernel; hidden dropout stays at BERT's 0.1, as fine-tuning runs it.
 */
const BERT_BASE = {
  model_type: 'bert', vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2,
  layer_norm_eps: 1e-12, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.0, pad_token_id: 0,
  initializer_range: 0.02, num_labels: 2,
};

/** SmolLM2-360M's, Qwen2.5-0.5B's and Llama-3.2-1B's published shapes, written once as bf16 checkpoints. */
const BF16_SHAPES = {
  'SmolLM2-360M': {
    model_type: 'llama', vocab_size: 49152, hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32,
    num_attention_heads: 15, num_key_value_heads: 5, max_position_embeddings: 8192, rms_norm_eps: 1e-5,
    rope_theta: 100000, tie_word_embeddings: true,
  },
  'Qwen2.5-0.5B': {
    model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
    num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1000000, tie_word_embeddings: true, use_sliding_window: false,
  },
  'Llama-3.2-1B': {
    model_type: 'llama', vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
    num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, max_position_embeddings: 131072, rms_norm_eps: 1e-5,
    rope_theta: 500000, tie_word_embeddings: true,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  },
};

function runOurs(ctx: BenchContext, cfg: object): Record<string, number> | null {
  const r = spawnSync(process.execPath, [join(here, 'workers', 'model_worker.js'), JSON.stringify(cfg)], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) {
    ctx.notice(`gptune ${JSON.stringify(cfg)}: failed (${(r.stderr || '').trim().split('\n').slice(-1)[0]})`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export function run(ctx: BenchContext): BenchRow[] {
  const rows: BenchRow[] = [];
  const bw = readBandwidth();
  // Decoding one token reads every weight once (f32); the bound is bandwidth / weight bytes.
  const bound = (params: number) => bw * 1e9 / (params * 4);
  const GPT2_PARAMS = 124_439_808, SMOL_PARAMS = 134_515_008;
  rows.push({ bench: 'memory', case: 'read bandwidth (sum over 1 GiB)', unit: 'GB/s', gptune: bw, peer: null, peerName: 'none', note: `decode bounds: GPT-2 124M ${bound(GPT2_PARAMS).toFixed(1)} tok/s, SmolLM-135M ${bound(SMOL_PARAMS).toFixed(1)} tok/s` });
  const steps = ctx.quick ? 2 : 5;
  // BENCH_GROUPS=arch,bf16base (say) runs only those groups: gpt2, smollm, arch, bf16base, shapes, bert.
  const groups = process.env.BENCH_GROUPS?.split(',').map((g) => g.trim());
  const want = (group: string) => !groups || groups.includes(group);
  // Each case: gptune once, then the peer (HF transformers + PEFT) in fp32 and under bf16 autocast,
  // every ratio against our number from the same run. Rows say which peer configuration they used.
  const PEER_DTYPES = [{ dtype: 'fp32', name: 'torch-fp32' }, { dtype: 'bf16-autocast', name: 'torch-bf16ac' }] as const;
  // Each peer dtype is compared with gptune in the matching mode: f32 with f32, bf16 autocast with
  // --compute-dtype bf16 (where this CPU has AVX-512 BF16; else gptune's f32 again).
  const bf16 = backend().bf16Hardware;
  const bf16Mode = (cfg: object, dtype: string) => bf16 && dtype === 'bf16-autocast' && (cfg as { mode: string }).mode !== 'generate';
  // rounds > 1 alternates the two sides (ours, peer, ours, peer ...) and keeps each side's fastest
  // round, so a burst of load on this shared machine does not land on one side only.
  const pair = (cfg: object, dtypes: readonly { dtype: string; name: string }[] = PEER_DTYPES, rounds = 1) => dtypes.map((d) => {
    let ours: Record<string, number> | null = null, out: any = null;
    const faster = (a: any, b: any) => (!a || (b && b.tokens_per_sec > a.tokens_per_sec) ? b : a);
    for (let i = 0; i < rounds; i++) {
      ours = faster(ours, runOurs(ctx, { ...cfg, compute_dtype: bf16Mode(cfg, d.dtype) ? 'bf16' : 'f32' }));
      out = faster(out, runPeer(ctx, 'hf_torch.py', { ...cfg, dtype: d.dtype }));
    }
    return { ...d, ours, out };
  });
  const push = (p: ReturnType<typeof pair>, bench: string, label: string, key: string, unit: string, note?: (ours: Record<string, number>) => string) => {
    for (const peer of p) {
      if (!peer.ours) continue;
      const mode = peer.ours.bf16_compute ? ' [gptune bf16]' : '';
      rows.push({ bench, case: label + mode, unit, gptune: peer.ours[key], peer: peer.out?.[key] ?? null, peerName: peer.name, peerConfig: peer.out?.config,
        note: unit === 'MB' ? 'lower is better' : note?.(peer.ours) });
    }
  };
  // GPT-2 124M forward+backward (no optimizer) and generation.
  if (want('gpt2')) {
    push(pair({ mode: 'fwdbwd', ...GPT2_124M, batch: 4, seq_len: 256, steps }), 'gpt2', 'fwd+bwd 124M B4xT256', 'tokens_per_sec', 'tokens/s');
    const g = pair({ mode: 'generate', ...GPT2_124M, batch: 1, seq_len: 128, prompt_len: 128, new_tokens: ctx.quick ? 16 : 64 });
    push(g, 'gpt2', 'prefill 124M 128 tokens', 'prefill_tokens_per_sec', 'tokens/s');
    push(g, 'gpt2', 'decode 124M (KV cache)', 'decode_tokens_per_sec', 'tokens/s', (o) => `${(100 * o.decode_tokens_per_sec / bound(GPT2_PARAMS)).toFixed(0)}% of the f32 bandwidth bound`);
  }
  // SmolLM-135M's shape (issue: Llama family): training full and LoRA, and decode.
  if (want('smollm')) {
    const smol = { arch: 'llama', n_layer: 30, n_embd: 576, n_head: 9, n_kv_head: 3, intermediate: 1536, vocab_size: 49152, n_positions: 2048 };
    for (const mode of ['train', 'lora'] as const) {
      const cfg = { mode, ...smol, batch: 4, seq_len: 256, steps: ctx.quick ? 1 : 3, warmup: 1, lora_r: 8, lora_alpha: 16 };
      const p = pair(cfg);
      const label = `${mode === 'train' ? 'full' : 'lora r8'} SmolLM-135M B4xT256`;
      push(p, 'smollm', label, 'tokens_per_sec', 'tokens/s');
      push(p, 'smollm', label + ' peak RSS', 'max_rss_mb', 'MB');
    }
    const g = pair({ mode: 'generate', ...smol, batch: 1, seq_len: 128, prompt_len: 128, new_tokens: ctx.quick ? 16 : 64 });
    push(g, 'smollm', 'decode SmolLM-135M (KV cache)', 'decode_tokens_per_sec', 'tokens/s', (o) => `${(100 * o.decode_tokens_per_sec / bound(SMOL_PARAMS)).toFixed(0)}% of the f32 bandwidth bound`);
  }
  // The small models people fine-tune today (issue: architectures), built on both sides from the same
  // config.json object: gptune through its registry, the peer through the real HF class.
  for (const [name, hf] of want('arch') ? Object.entries(ARCH_SHAPES) : []) {
    const shape = { n_layer: hf.num_hidden_layers, n_embd: hf.hidden_size, n_head: hf.num_attention_heads, vocab_size: hf.vocab_size, hf_config: hf };
    const modes = name.startsWith('Gemma') ? ['train', 'lora'] as const : ['lora'] as const;
    for (const mode of modes) {
      const p = pair({ mode, ...shape, batch: 4, seq_len: 256, steps: 1, warmup: 1, lora_r: 8, lora_alpha: 16 });
      const label = `${mode === 'train' ? 'full' : 'lora r8'} ${name} B4xT256`;
      push(p, 'arch', label, 'tokens_per_sec', 'tokens/s');
      push(p, 'arch', label + ' peak RSS', 'max_rss_mb', 'MB');
    }
    const g = pair({ mode: 'generate', ...shape, batch: 1, seq_len: 128, prompt_len: 128, new_tokens: ctx.quick ? 8 : 32 });
    push(g, 'arch', `decode ${name} (KV cache)`, 'decode_tokens_per_sec', 'tokens/s');
  }
  // Bigger models from bf16 checkpoints (issue: speed and memory): LoRA with the base kept in bf16 on
  // both sides (the peer under bf16 autocast, its fastest path for bf16 weights), and decode.
  for (const [name, hf] of want('bf16base') ? Object.entries(BF16_SHAPES) : []) {
    const made = runPeer(ctx, 'make_checkpoint.py', { hf_config: hf, dir: join(tmpdir(), 'gptune-bench', name) });
    if (!made) continue;
    const shape = { arch: 'llama', n_layer: hf.num_hidden_layers, n_embd: hf.hidden_size, n_head: hf.num_attention_heads, vocab_size: hf.vocab_size, checkpoint: made.dir };
    const p = pair({ mode: 'lora', ...shape, batch: 4, seq_len: 256, steps: 1, warmup: 1, lora_r: 8, lora_alpha: 16 }, PEER_DTYPES.slice(1));
    push(p, 'bf16 base', `lora r8 ${name} B4xT256`, 'tokens_per_sec', 'tokens/s');
    push(p, 'bf16 base', `lora r8 ${name} peak RSS`, 'max_rss_mb', 'MB');
    // QLoRA-style quantized bases (--base-quant) at the 1B shape, against the same peer run (its base in bf16).
    if (name !== 'Llama-3.2-1B') continue;
    for (const quant of ['int8', 'nf4', 'q4'] as const) {
      const q = p.map((peer) => ({ ...peer, ours: runOurs(ctx, { mode: 'lora', ...shape, batch: 4, seq_len: 256, steps: 1, warmup: 1, lora_r: 8, lora_alpha: 16,
        base_quant: quant, compute_dtype: bf16Mode({ mode: 'lora' }, peer.dtype) ? 'bf16' : 'f32' }) }));
      push(q, 'bf16 base', `lora r8 ${name} --base-quant ${quant} B4xT256`, 'tokens_per_sec', 'tokens/s');
      push(q, 'bf16 base', `lora r8 ${name} --base-quant ${quant} peak RSS`, 'max_rss_mb', 'MB');
    }
  }
  // BERT-base fine-tuning (issue: encoders): the full step (AdamW) and forward+backward alone, at
  // 8 x 128 tokens unpadded and with half the rows padded after 64 tokens (the attention mask's normal
  // case), from one config.json object on both sides (gptune's registry, transformers' Auto class).
  for (const pad of want('bert') ? [undefined, 64] : []) {
    const shape = { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: BERT_BASE.vocab_size, hf_config: BERT_BASE, batch: 8, seq_len: 128 };
    for (const mode of ['train', 'fwdbwd'] as const) {
      const p = pair({ mode, ...shape, pad_to: pad, steps: ctx.quick ? 1 : 3, warmup: 1 }, PEER_DTYPES, ctx.quick ? 1 : 2);
      const label = `${mode === 'train' ? 'full' : 'fwd+bwd'} BERT-base B8xT128${pad ? ' half pad64' : ''}`;
      push(p, 'bert', label, 'tokens_per_sec', 'tokens/s');
      if (mode === 'train') push(p, 'bert', label + ' peak RSS', 'max_rss_mb', 'MB');
    }
  }
  for (const mode of want('shapes') ? ['train', 'lora'] as const : []) {
    for (const [name, shape] of Object.entries(SHAPES)) {
      const p = pair({ mode, ...shape, steps, lora_r: 8, lora_alpha: 16 });
      const label = `${mode === 'train' ? 'full' : 'lora r8'} ${name} B${shape.batch}xT${shape.seq_len}`;
      push(p, mode, label, 'tokens_per_sec', 'tokens/s');
      push(p, mode, label + ' peak RSS', 'max_rss_mb', 'MB');
    }
  }
  return rows;
}
