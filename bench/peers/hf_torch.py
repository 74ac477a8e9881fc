# PyTorch peer for the model benchmarks as its users run it: Hugging Face transformers models
# (GPT2LMHeadModel, LlamaForCausalLM; BertForSequenceClassification for an encoder hf_config) with
# random weights, SDPA attention, PEFT's LoRA, in fp32 or under torch.autocast('cpu', bfloat16). Reads one JSON config on stdin, prints one JSON line.
import json, sys, time
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, GPT2Config, LlamaConfig

torch.set_num_threads(2)
torch.manual_seed(0)
cfg = json.load(sys.stdin)
L, C, H, V, T, B = cfg["n_layer"], cfg["n_embd"], cfg["n_head"], cfg["vocab_size"], cfg["seq_len"], cfg["batch"]
NPOS = max(cfg.get("n_positions", 1024), T)
hf_config = cfg.get("hf_config")
encoder = hf_config is not None and hf_config.get("model_type") in ("bert", "roberta")
llama = cfg.get("arch") == "llama" or (hf_config is not None and not encoder)
bf16 = cfg.get("dtype", "fp32") == "bf16-autocast"

if cfg.get("checkpoint"):
    config = None
elif hf_config is not None:
    # The same config.json object gptune's worker builds its model from, through the real HF class.
    config = AutoConfig.for_model(**hf_config)
elif llama:
    config = LlamaConfig(vocab_size=V, hidden_size=C, intermediate_size=cfg["intermediate"], num_hidden_layers=L,
                         num_attention_heads=H, num_key_value_heads=cfg["n_kv_head"], max_position_embeddings=NPOS,
                         tie_word_embeddings=True, rms_norm_eps=1e-5)
else:
    config = GPT2Config(vocab_size=V, n_positions=NPOS, n_embd=C, n_layer=L, n_head=H,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
if cfg.get("checkpoint"):
    # A bf16 checkpoint loaded as users load it: weights stay bf16, compute under autocast.
    model = AutoModelForCausalLM.from_pretrained(cfg["checkpoint"], attn_implementation="sdpa", dtype=torch.bfloat16)
elif encoder:
    model = AutoModelForSequenceClassification.from_config(config, attn_implementation="sdpa", dtype=torch.float32)
else:
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=torch.float32)


def autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)


mode = cfg["mode"]
ids = torch.randint(0, V, (B, T))
batch = {"input_ids": ids, "labels": ids}
if encoder:
    # The batch of bench/workers/task_step.ts: ids (i * 2654435761) mod vocab; with pad_to, rows 1, 3, 5 ...
    # keep pad_to real tokens, the rest padding (mask 0, pad id); class labels b mod num_labels.
    ids = ((torch.arange(B * T, dtype=torch.int64) * 2654435761) % V).reshape(B, T)
    mask = torch.ones(B, T, dtype=torch.int64)
    if cfg.get("pad_to") is not None:
        ids[1::2, cfg["pad_to"]:] = config.pad_token_id
        mask[1::2, cfg["pad_to"]:] = 0
    batch = {"input_ids": ids, "attention_mask": mask, "labels": torch.arange(B) % config.num_labels}
out = {"config": f"torch {torch.__version__}, transformers {transformers.__version__}, "
                 f"{'bf16 weights, ' if cfg.get('checkpoint') else ''}{'bf16 autocast' if bf16 else 'fp32'}, {model.config._attn_implementation} attention, "
                 f"{torch.get_num_threads()} threads"}
if mode in ("train", "lora", "fwdbwd"):
    if mode == "lora":
        import peft
        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] if llama else ["c_attn", "c_proj", "c_fc"]
        lcfg = peft.LoraConfig(r=cfg.get("lora_r", 8), lora_alpha=cfg.get("lora_alpha", 16), lora_dropout=0.0,
                               target_modules=targets, fan_in_fan_out=not llama, task_type="CAUSAL_LM")
        model = peft.get_peft_model(model, lcfg)
        out["config"] += f", peft {peft.__version__}"
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4) if mode != "fwdbwd" else None

    def step():
        with autocast():
            loss = model(**batch).loss
        loss.backward()
        if opt is not None:
            opt.step()
            opt.zero_grad(set_to_none=True)
        else:
            model.zero_grad(set_to_none=True)

    for _ in range(cfg.get("warmup", 2)):
        step()
    n = cfg.get("steps", 5)
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    dt = time.perf_counter() - t0
    out["tokens_per_sec"] = B * T * n / dt
elif mode == "generate":
    model.eval()
    prompt = ids[:1, : cfg["prompt_len"]]
    new = cfg["new_tokens"]

    def decode(steps):
        # Greedy decoding with HF's KV cache, as generate() runs it, timed in two parts.
        res = model(input_ids=prompt, use_cache=True)
        t1 = time.perf_counter()
        past, tok = res.past_key_values, res.logits[:, -1:].argmax(-1)
        for _ in range(steps):
            res = model(input_ids=tok, past_key_values=past, use_cache=True)
            past, tok = res.past_key_values, res.logits[:, -1:].argmax(-1)
        return t1

    with torch.no_grad(), autocast():
        decode(2)  # warm-up
        t0 = time.perf_counter()
        t1 = decode(new)
        t2 = time.perf_counter()
    out["prefill_tokens_per_sec"] = prompt.shape[1] / (t1 - t0)
    out["decode_tokens_per_sec"] = new / (t2 - t1)
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report its parent's size.
out["max_rss_mb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
