# PyTorch peer for the model benchmarks: GPT-2 written the way Hugging Face's GPT2LMHeadModel
# computes it (torch 1.13 has no scaled_dot_product_attention: explicit causal softmax attention),
# timed on the same shapes as gptune. Reads one JSON config on stdin, prints one JSON line.
import json, math, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
cfg = json.load(sys.stdin)
L, C, H, V, T, B = cfg["n_layer"], cfg["n_embd"], cfg["n_head"], cfg["vocab_size"], cfg["seq_len"], cfg["batch"]
NPOS = max(cfg.get("n_positions", 1024), T)


class LoRA(nn.Module):
    """PEFT's LoRA on a frozen Linear: base(x) + (x A^T) B^T * alpha / r."""
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.randn(r, base.in_features) * 0.01)
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.A.t()) @ self.B.t() * self.scaling


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def attn(self, x, cache):
        b, t, _ = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        s = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        tk = k.shape[2]
        mask = torch.ones(t, tk, dtype=torch.bool).tril(tk - t)
        s = s.masked_fill(~mask, float("-inf"))
        y = F.softmax(s, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, t, C))

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(NPOS, C)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        for p in self.parameters():
            nn.init.normal_(p, std=0.02)

    def forward(self, ids, caches=None, past=0):
        pos = torch.arange(past, past + ids.shape[1])
        x = self.wte(ids) + self.wpe(pos)
        for i, blk in enumerate(self.h):
            x = blk(x, caches[i] if caches is not None else None)
        return self.ln_f(x) @ self.wte.weight.t()


model = GPT()
mode = cfg["mode"]
ids = torch.randint(0, V, (B, T))
out = {}
if mode in ("train", "lora", "fwdbwd"):
    if mode == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        for blk in model.h:
            for name in ("c_attn", "c_proj", "c_fc", "mlp_proj"):
                setattr(blk, name, LoRA(getattr(blk, name), cfg.get("lora_r", 8), cfg.get("lora_alpha", 16)))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4) if mode != "fwdbwd" else None

    def step():
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
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
    with torch.no_grad():
        model(prompt, [dict() for _ in range(L)])  # warm-up
        caches = [dict() for _ in range(L)]
        t0 = time.perf_counter()
        logits = model(prompt, caches)
        t1 = time.perf_counter()
        tok = logits[:, -1:].argmax(-1)
        past = prompt.shape[1]
        for _ in range(new):
            logits = model(tok, caches, past)
            past += 1
            tok = logits[:, -1:].argmax(-1)
        t2 = time.perf_counter()
    out["prefill_tokens_per_sec"] = prompt.shape[1] / (t1 - t0)
    out["decode_tokens_per_sec"] = new / (t2 - t1)
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
