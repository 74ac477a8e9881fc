# Causal self-attention in PyTorch 1.13 on CPU, written as a GPT-2 model of that era writes it (no
# scaled_dot_product_attention before torch 2.0): q @ k^T * scale, masked_fill(-inf), softmax, @ v,
# then .backward() of sum(out * w). Shapes come from bench/kernels/attention.bench.ts on stdin;
# prints {"cases": [{"fwd_ms", "fwdbwd_ms"}, ...], "info": {...}} as JSON on its last line.
from timing import median_seconds
import json
import math
import sys
import time

import torch


def main():
    req = json.load(sys.stdin)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    quick = req.get("quick", False)
    out = []
    for case in req["cases"]:
        B, T, H, D = case["B"], case["T"], case["H"], case["D"]
        scale = 1.0 / math.sqrt(D)
        q = torch.randn(B, H, T, D, requires_grad=True)  # (B, nh, T, hs)
        k = torch.randn(B, H, T, D, requires_grad=True)
        v = torch.randn(B, H, T, D, requires_grad=True)
        w = torch.randn(B, H, T, D)
        mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T)  # nanoGPT's registered `bias` buffer

        def forward():
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

        out.append({"fwd_ms": 1e3 * median_seconds(fwd, quick, 2.0), "fwdbwd_ms": 1e3 * median_seconds(fwdbwd, quick, 2.0)})
    info = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    print(json.dumps({"cases": out, "info": info}))


if __name__ == "__main__":
    main()
