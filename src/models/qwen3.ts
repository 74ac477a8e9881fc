// Qwen3 (model_type qwen3) with Hugging Face's Qwen3ForCausalLM semantics: a Llama whose queries
// and keys pass a per-head RMSNorm (q_norm, k_norm over head_dim) before RoPE, with head_dim set
// independently of hidden_size / heads (default 128), no q/k/v bias, and optional sliding-window
// layers. The math and the config reader live in llama.ts (qk_norm, layer_windows); this file names it.
import { LlamaForCausalLM } from './llama.js';

export class Qwen3ForCausalLM extends LlamaForCausalLM {
  override readonly architecture = 'qwen3';
}
