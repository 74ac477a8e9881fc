# PyTorch peer for bench/kernels/layernorm.bench.ts: times F.layer_norm forward + backward and
# F.cross_entropy forward + backward on CPU with 2 threads. Reads one JSON object on stdin, prints
# one JSON line: median seconds per forward+backward for each case.
import json
import sys
import time

import torch
import torch.nn.functional as F


def timeit(fn, min_iters, min_seconds, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 1000:
            break
    times.sort()
    return times[len(times) // 2]


def main():
    cfg = json.loads(sys.stdin.read())
    torch.set_num_threads(cfg.get("threads", 2))
    torch.manual_seed(0)
    min_iters, min_seconds = cfg["min_iters"], cfg["min_seconds"]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}

    ln = cfg.get("layernorm")
    if ln:
        rows, cols = ln["rows"], ln["cols"]
        x = torch.randn(rows, cols, requires_grad=True)
        w = torch.randn(cols, requires_grad=True)
        b = torch.randn(cols, requires_grad=True)
        dout = torch.randn(rows, cols)

        def ln_step():
            y = F.layer_norm(x, (cols,), w, b, 1e-5)
            torch.autograd.grad(y, (x, w, b), dout)

        out["layernorm"] = timeit(ln_step, min_iters, min_seconds)

    xe = cfg.get("xent")
    if xe:
        rows, vocab = xe["rows"], xe["vocab"]
        logits = (torch.randn(rows, vocab) * 2).requires_grad_()
        targets = torch.randint(0, vocab, (rows,))

        def xent_step():
            loss = F.cross_entropy(logits, targets)
            torch.autograd.grad(loss, (logits,))

        out["xent"] = timeit(xent_step, min_iters, min_seconds)

    print(json.dumps(out))


if __name__ == "__main__":
    main()
