"""A Llama-3.2-1B-shaped bf16 checkpoint with random weights (2.5 GB) for timing model loading (bench/load.bench.ts).
Written once; a second run leaves an existing checkpoint as it is. Run: python scripts/bench/make_llama1b_bf16.py OUT_DIR"""
import json, os, sys
import torch
from safetensors.torch import save_file

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256, "hidden_size": 2048,
       "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
       "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "hidden_act": "silu",
       "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
       "bos_token_id": 128000, "eos_token_id": 128001, "dtype": "bfloat16", "transformers_version": "5.17.0"}
weights = os.path.join(out, 'model.safetensors')
if not os.path.exists(weights):
    g = torch.Generator().manual_seed(0)
    C, I, H, KV, D = 2048, 8192, 32, 8, 64
    t = {'model.embed_tokens.weight': (128256, C), 'model.norm.weight': (C,)}
    for l in range(16):
        p = f'model.layers.{l}.'
        t.update({p + 'self_attn.q_proj.weight': (H * D, C), p + 'self_attn.k_proj.weight': (KV * D, C),
                  p + 'self_attn.v_proj.weight': (KV * D, C), p + 'self_attn.o_proj.weight': (C, H * D),
                  p + 'mlp.gate_proj.weight': (I, C), p + 'mlp.up_proj.weight': (I, C), p + 'mlp.down_proj.weight': (C, I),
                  p + 'input_layernorm.weight': (C,), p + 'post_attention_layernorm.weight': (C,)})
    sd = {k: (torch.ones(s) if len(s) == 1 else torch.randn(s, generator=g) * 0.02).to(torch.bfloat16) for k, s in t.items()}
    # Temporary name, then rename: an interrupted run never leaves a truncated checkpoint behind.
    save_file(sd, weights + '.tmp', metadata={'format': 'pt'})
    os.replace(weights + '.tmp', weights)
with open(os.path.join(out, 'config.json'), 'w') as f:
    json.dump(cfg, f, indent=2)
