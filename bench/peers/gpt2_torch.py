# PyTorch peer for the model benchmarks: GPT-2 written the way Hugging Face's GPT2LMHeadModel
# computes it (torch 1.13 has no scaled_dot_product_attention: explicit causal softmax attention),
# timed on the same shapes as gptune. Reads one JSON config on stdin, prints one JSON line.
import json, math, sys, time
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


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class LlamaBlock(nn.Module):
    """HF LlamaDecoderLayer's math: RMSNorm, rope (rotate_half), GQA by repeating kv heads, SwiGLU."""
    def __init__(self, kvh, inter):
        super().__init__()
        self.kvh, self.hd = kvh, C // H
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(C), RMSNorm(C)
        self.q_proj = nn.Linear(C, C, bias=False)
        self.k_proj = nn.Linear(C, kvh * self.hd, bias=False)
        self.v_proj = nn.Linear(C, kvh * self.hd, bias=False)
        self.o_proj = nn.Linear(C, C, bias=False)
        self.gate_proj, self.up_proj = nn.Linear(C, inter, bias=False), nn.Linear(C, inter, bias=False)
        self.down_proj = nn.Linear(inter, C, bias=False)

    def forward(self, x, cos, sin, cache=None):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, H, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kvh, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kvh, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        k, v = k.repeat_interleave(H // self.kvh, 1), v.repeat_interleave(H // self.kvh, 1)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        tk = k.shape[2]
        s = s.masked_fill(~torch.ones(t, tk, dtype=torch.bool).tril(tk - t), float("-inf"))
        x = x + self.o_proj((F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, C))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(V, C)
        self.h = nn.ModuleList(LlamaBlock(cfg["n_kv_head"], cfg["intermediate"]) for _ in range(L))
        self.norm = RMSNorm(C)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, std=0.02)
        hd = C // H
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.arange(NPOS).float()[:, None] * inv[None, :]
        self.cos, self.sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()

    def forward(self, ids, caches=None, past=0):
        t = ids.shape[1]
        cos, sin = self.cos[past:past + t], self.sin[past:past + t]
        x = self.embed_tokens(ids)
        for i, blk in enumerate(self.h):
            x = blk(x, cos, sin, caches[i] if caches is not None else None)
        return self.norm(x) @ self.embed_tokens.weight.t()


model = Llama() if cfg.get("arch") == "llama" else GPT()
mode = cfg["mode"]
ids = torch.randint(0, V, (B, T))
out = {}
if mode in ("train", "lora", "fwdbwd"):
    if mode == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        names = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj") if cfg.get("arch") == "llama" else ("c_attn", "c_proj", "c_fc", "mlp_proj")
        for blk in model.h:
            for name in names:
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
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report its parent's size.
out["max_rss_mb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
