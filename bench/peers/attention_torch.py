# Causal self-attention in PyTorch on CPU, as transformers runs it: F.scaled_dot_product_attention
# (is_causal) on torch >= 2.0; on torch 1.13 as a GPT-2 model of that era writes it (q @ k^T * scale,
# masked_fill(-inf), softmax, @ v). Then .backward() of sum(out * w). Shapes come from bench/kernels/attention.bench.ts on stdin;
# prints {"cases": [{"fwd_ms", "fwdbwd_ms"}, ...], "info": {...}} as JSON on its last line.
# Cases run on 2 threads (median wall time) or, with "threads": 1, on one (least CPU time).
from timing import median_seconds
import json
import math
import sys
import time

import torch


def min_cpu_seconds(fn, quick):
    """Least process CPU time of one call: robust when other processes share the cores."""
    fn()
    best = float("inf")
    for _ in range(2 if quick else 5):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main():
    req = json.load(sys.stdin)
    torch.manual_seed(0)
    quick = req.get("quick", False)
    out = []
    for case in req["cases"]:
        # threads 1: CPU time of one thread (the load-robust cross-check); else wall time on 2 threads
        one = case.get("threads") == 1
        torch.set_num_threads(1 if one else 2)
        timer = min_cpu_seconds if one else median_seconds
        B, T, H, D = case["B"], case["T"], case["H"], case["D"]
        scale = 1.0 / math.sqrt(D)
        q = torch.randn(B, H, T, D, requires_grad=True)  # (B, nh, T, hs)
        k = torch.randn(B, H, T, D, requires_grad=True)
        v = torch.randn(B, H, T, D, requires_grad=True)
        w = torch.randn(B, H, T, D)
        mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T)  # nanoGPT's registered `bias` buffer

        sdpa = getattr(torch.nn.functional, "scaled_dot_product_attention", None)

        def forward():
            if sdpa is not None:
                return sdpa(q, k, v, is_causal=True, scale=scale)
            att = (q @ k.transpose(-2, -1)) * scale
            att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf"))
            att = torch.softmax(att, dim=-1)
            return att @ v

        def fwd():
            with torch.no_grad():
                forward()

        def fwdbwd():
            q.grad = k.grad = v.grad = None
            (forward() * w).sum().backward()

        out.append({"fwd_ms": 1e3 * timer(fwd, quick), "fwdbwd_ms": 1e3 * timer(fwdbwd, quick)})
    sdpa = hasattr(torch.nn.functional, "scaled_dot_product_attention")
    info = {"torch": torch.__version__, "config": f"torch {torch.__version__}, {'sdpa' if sdpa else 'explicit softmax attention'}"}
    print(json.dumps({"cases": out, "info": info}))


if __name__ == "__main__":
    main()
