// Qwen3 (model_type qwen3) with Hugging Face's Qwen3ForCausalLM semantics: a Llama whose queries
// and keys pass a per-head RMSNorm (q_norm, k_norm over head_dim) before RoPE, with head_dim set
// independently of hidden_size / heads, no q/k/v bias, and optional sliding-window layers. The
// math lives in llama.ts (LlamaAttention's q_norm / k_norm); this file reads the config.
import { LlamaForCausalLM, llamaConfigFrom, type LlamaConfig } from './llama.js';

/** Reads a qwen3 config.json; HF's Qwen3Config defaults where a key is absent. */
export function qwen3ConfigFrom(raw: Record<string, unknown>, source = 'config.json'): LlamaConfig {
  if (raw.attention_bias === true) throw new Error(`${source}: qwen3 with attention_bias true is not supported`);
  // transformers 5 writes rope_theta / rope_scaling inside rope_parameters.
  const rp = raw.rope_parameters as Record<string, unknown> | undefined;
  const rope = rp && typeof rp === 'object' && raw.rope_theta === undefined
    ? { rope_theta: rp.rope_theta, rope_scaling: rp.rope_type && rp.rope_type !== 'default' ? rp : raw.rope_scaling ?? null }
    : {};
  // Qwen3Config's head_dim default is 128, not hidden_size / heads.
  return llamaConfigFrom({ ...raw, ...rope, head_dim: raw.head_dim ?? 128, attention_bias: false }, source);
}

export class Qwen3ForCausalLM extends LlamaForCausalLM {
  override readonly architecture = 'qwen3';
}
