// One model benchmark in its own process (so peak RSS belongs to it alone): GPT-2 with random
// weights, timed in one mode. Config JSON in argv[2]; one JSON line out, like the PyTorch peer.
// An encoder hf_config (BERT family) trains its ForSequenceClassification head instead (task.ts).
import { readFileSync } from 'node:fs';
import { GPT2LMHeadModel, gpt2ConfigFrom } from '../../src/models/gpt2.js';
import { LlamaForCausalLM, llamaConfigFrom } from '../../src/models/llama.js';
import { causalLMModelLoss } from '../../src/train/losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { generate } from '../../src/generate/generate.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { applyLora } from '../../src/lora/index.js';
import { createModel } from '../../src/models/registry.js';
import { loadModel, type BaseQuant } from '../../src/models/load.js';
import { computeDtype, setComputeDtype } from '../../src/tensor/compute_dtype.js';
import { isEncoderType } from '../../src/models/registry.js';
import { timeTaskSteps } from './task_step.js';

interface Config {
  mode: 'train' | 'lora' | 'fwdbwd' | 'generate';
  /** A Hugging Face config.json object: the model is built from it by the registry, as the peer builds its class. */
  hf_config?: Record<string, unknown>;
  /** A bf16 checkpoint folder, loaded as `gptune train --method lora` loads it (linear weights kept bf16). */
  checkpoint?: string;
  /** Encoders: rows 1, 3, 5 ... padded after this many real tokens (the attention mask's normal case). */
  pad_to?: number;
  /** --base-quant for the checkpoint's frozen linear weights (int8, q4, nf4). */
  base_quant?: BaseQuant;
  /** Recompute each block's forward in backward (--gradient-checkpointing). */
  gradient_checkpointing?: boolean;
  /** 'bf16': products with weights in bf16 (as --compute-dtype bf16), against the peer under autocast. */
  compute_dtype?: 'f32' | 'bf16';
  arch?: 'gpt2' | 'llama';
  n_kv_head?: number;
  intermediate?: number;
  n_layer: number; n_embd: number; n_head: number; vocab_size: number; seq_len: number; batch: number;
  n_positions?: number; steps?: number; warmup?: number; prompt_len?: number; new_tokens?: number; lora_r?: number; lora_alpha?: number;
}

async function main() {
  const cfg = JSON.parse(process.argv[2]) as Config;
  // Training modes only: decode compares f32 weights read at f32 (the peer's autocast decode rows say so).
  if (cfg.compute_dtype && cfg.mode !== 'generate') setComputeDtype(cfg.compute_dtype);
  if (cfg.hf_config && isEncoderType(cfg.hf_config.model_type)) return finish(timeTaskSteps(cfg));
  const positions = Math.max(cfg.n_positions ?? 1024, cfg.seq_len);
  const model: CausalLM = cfg.checkpoint ? loadModel(cfg.checkpoint, { keepStoredDtype: true, baseQuant: cfg.base_quant }).model
    : cfg.hf_config ? createModel(cfg.hf_config, 'bench config')
    : cfg.arch === 'llama'
    ? new LlamaForCausalLM(llamaConfigFrom({
      model_type: 'llama', vocab_size: cfg.vocab_size, hidden_size: cfg.n_embd, intermediate_size: cfg.intermediate, num_hidden_layers: cfg.n_layer,
      num_attention_heads: cfg.n_head, num_key_value_heads: cfg.n_kv_head, max_position_embeddings: positions, tie_word_embeddings: true, rms_norm_eps: 1e-5,
    }))
    : new GPT2LMHeadModel(gpt2ConfigFrom({
      vocab_size: cfg.vocab_size, n_positions: positions, n_embd: cfg.n_embd, n_layer: cfg.n_layer,
      n_head: cfg.n_head, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0,
    }));
  if (!cfg.checkpoint) model.initWeights(0);
  const out: Record<string, number> = {};
  const B = cfg.batch, T = cfg.seq_len;
  const ids = new Int32Array(B * T);
  for (let i = 0; i < ids.length; i++) ids[i] = (i * 2654435761) % cfg.vocab_size;
  if (cfg.mode === 'generate') {
    const prompt = Array.from(ids.subarray(0, cfg.prompt_len));
    generate(model, prompt, { maxNewTokens: 2 }); // warm-up
    let prefillEnd = 0;
    const t0 = performance.now();
    generate(model, prompt, { maxNewTokens: cfg.new_tokens! + 1, onToken: () => { if (!prefillEnd) prefillEnd = performance.now(); } });
    const t2 = performance.now();
    out.prefill_tokens_per_sec = prompt.length / ((prefillEnd - t0) / 1000);
    out.decode_tokens_per_sec = cfg.new_tokens! / ((t2 - prefillEnd) / 1000);
  } else {
    if (cfg.mode === 'lora') await applyBenchLora(model, cfg);
    const opt = cfg.mode === 'fwdbwd' ? null : new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-4 });
    const step = () => {
      causalLMModelLoss(model, ids, ids, B, T, { gradientCheckpointing: cfg.gradient_checkpointing }).backward();
      if (opt) { opt.stepUpdate(); opt.zeroGrad(); } else model.zeroGrad();
    };
    for (let i = 0; i < (cfg.warmup ?? 2); i++) step();
    const n = cfg.steps ?? 5;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) step();
    out.tokens_per_sec = (B * T * n) / ((performance.now() - t0) / 1000);
  }
  finish(out);
}

function finish(out: Record<string, number>): void {
  // VmHWM, not getrusage's maxRSS: that one survives exec, so a child would report its parent's size.
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  out.max_rss_mb = hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
  if (computeDtype() === 'bf16') out.bf16_compute = 1;
  console.log(JSON.stringify(out));
}

/** LoRA r on c_attn, c_proj, c_fc (PEFT's suffix match also takes mlp.c_proj); every projection for Llama. */
async function applyBenchLora(model: CausalLM, cfg: Config): Promise<void> {
  const targets = cfg.arch === 'llama' || cfg.hf_config ? ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] : ['c_attn', 'c_proj', 'c_fc'];
  applyLora(model, { r: cfg.lora_r ?? 8, lora_alpha: cfg.lora_alpha ?? 16, lora_dropout: 0, target_modules: targets });
}

main().catch((e) => { console.error(e.message); process.exit(1); });
